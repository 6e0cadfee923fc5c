package smtp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/internal/tlsopt"
)

// delivery is one message a test server accepted.
type delivery struct {
	from string
	to   []string
	utf8 bool
	data []byte
}

// recorder is a go-smtp backend that records deliveries and answers DATA
// with errors a test injects.
type recorder struct {
	mu        sync.Mutex
	got       []delivery
	attempts  map[archive.ID]int
	onData    func(id archive.ID, attempt int) error // nil: accept
	user, pwd string
}

func (r *recorder) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{r: r}, nil }

type session struct {
	r    *recorder
	d    delivery
	auth bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.r.user || pass != s.r.pwd {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.auth = true
		return nil
	}), nil
}
func (s *session) Mail(from string, o *smtp.MailOptions) error {
	if s.r.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.d = delivery{from: from, utf8: o != nil && o.UTF8}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.to = append(s.d.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	id := archive.Sum(b)
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.attempts[id]++
	if s.r.onData != nil {
		if err := s.r.onData(id, s.r.attempts[id]); err != nil {
			return err
		}
	}
	s.d.data = b
	s.r.got = append(s.r.got, s.d)
	return nil
}
func (s *session) Reset()        { s.d = delivery{} }
func (s *session) Logout() error { return nil }

func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// startServer runs an in-process SMTP server with STARTTLS (a fresh
// self-signed certificate) and AUTH PLAIN for user/pwd.
func startServer(t *testing.T, r *recorder, utf8 bool) (addr string, cfg *tls.Config) {
	t.Helper()
	cert, pool := selfSigned(t)
	srv := smtp.NewServer(r)
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.EnableSMTPUTF8 = utf8
	srv.MaxMessageBytes = 10 << 20
	srv.MaxLineLength = 100000 // accept what a test may send by mistake: mailark must refuse it itself
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func options(addr string, cfg *tls.Config) Options {
	return Options{Addr: addr, TLS: tlsopt.StartTLS, TLSConfig: cfg, User: "u", Password: "p",
		From: "exporter@example.org", To: []string{"archive@example.org", "copy@example.org"},
		Backoff: 10 * time.Millisecond}
}

func run(t *testing.T, a *archive.Archive, sel *archive.Selection, o Options) *exporters.Report {
	t.Helper()
	rep := &exporters.Report{}
	if err := Run(context.Background(), a, sel, o, rep); err != nil {
		t.Fatalf("export: %v", err)
	}
	return rep
}

// crlf is the CRLF form of a message: what the server must receive.
func crlf(b []byte) []byte {
	var out bytes.Buffer
	w := &crlfBuf{&out}
	w.Write(b)
	return out.Bytes()
}

type crlfBuf struct{ b *bytes.Buffer }

func (c *crlfBuf) Write(p []byte) (int, error) {
	r := exporters.NewCRLFReader(bytes.NewReader(p))
	io.Copy(c.b, r)
	return len(p), nil
}

// TestDeliverUnchanged sends a corpus with every odd kind through STARTTLS
// and AUTH: each sendable message arrives once, byte for byte in its CRLF
// form, with exactly the given envelope; the others are reported and not
// sent; a rerun sends nothing.
func TestDeliverUnchanged(t *testing.T) {
	rec := &recorder{attempts: map[archive.ID]int{}, user: "u", pwd: "p"}
	addr, cfg := startServer(t, rec, true)
	a := archive.TestArchive(t)
	msgs := exportertest.Corpus(t, 80, 3, true)
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	o := options(addr, cfg)
	rep := run(t, a, sel, o)

	refused := map[string]bool{"odd:nul-byte": true, "odd:cr-only": true, "odd:long-header": true, "odd:long-body-line": true}
	want := map[archive.ID]*testcorpus.Message{}
	nRefused := 0
	for _, m := range msgs {
		bad := false
		for _, tag := range m.Tags {
			bad = bad || refused[tag]
		}
		if bad {
			if _, ok := want[m.ID()]; !ok {
				nRefused++
			}
			continue
		}
		want[m.ID()] = m
	}
	byDelivered := map[archive.ID]*testcorpus.Message{}
	for id, m := range want {
		byDelivered[id] = m
		if m.HasTag("odd:no-final-newline") {
			byDelivered[archive.Sum(append(crlf(m.Raw), '\r', '\n'))] = m // SMTP ends it with CRLF
		}
	}
	got := rec.deliveries()
	seen := map[archive.ID]int{}
	for _, d := range got {
		id := archive.Sum(d.data)
		seen[id]++
		if d.from != o.From || !slices.Equal(d.to, o.To) {
			t.Errorf("envelope %s -> %v, want %s -> %v", d.from, d.to, o.From, o.To)
		}
		m := byDelivered[id]
		if m == nil {
			t.Errorf("unexpected message %s delivered", id.Short())
			continue
		}
		if w := crlf(m.Raw); !bytes.Equal(d.data, w) && !(!bytes.HasSuffix(w, []byte("\r\n")) && bytes.Equal(d.data, append(w, '\r', '\n'))) {
			t.Errorf("%s (%v): delivered bytes differ from the archived ones", id.Short(), m.Tags)
		}
		if m.HasTag("odd:8bit-headers-utf8") && !d.utf8 {
			t.Errorf("8-bit headers sent without SMTPUTF8")
		}
	}
	for id, m := range want {
		n := seen[id]
		if m.HasTag("odd:no-final-newline") {
			n = seen[archive.Sum(append(crlf(m.Raw), '\r', '\n'))] // SMTP ends it with CRLF
		}
		if n != 1 {
			t.Errorf("%s (%v) delivered %d times, want once", id.Short(), m.Tags, n)
		}
	}
	tot := rep.Total()
	if tot.Failed.Messages != int64(nRefused) {
		t.Errorf("failed %d, want %d", tot.Failed.Messages, nRefused)
		probs, _ := rep.Problems()
		t.Logf("problems: %+v", probs)
	}

	// Idempotent: a rerun sends nothing.
	before := len(rec.deliveries())
	rep = run(t, a, sel, o)
	if n := len(rec.deliveries()) - before; n != 0 || rep.Total().Already.Messages != int64(len(want)) {
		t.Errorf("rerun delivered %d, already %d; want 0 and %d", n, rep.Total().Already.Messages, len(want))
	}
}

// TestRetryAndPermanent: a 4xx answer is retried with back-off until
// accepted; a 5xx answer fails that message only; the run goes on.
func TestRetryAndPermanent(t *testing.T) {
	rec := &recorder{attempts: map[archive.ID]int{}, user: "u", pwd: "p"}
	addr, cfg := startServer(t, rec, true)
	a := archive.TestArchive(t)
	msgs := exportertest.Corpus(t, 12, 5, false)
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	flaky, bad, hopeless := archive.ID(msgs[1].ID()), archive.ID(msgs[4].ID()), archive.ID(msgs[7].ID())
	rec.onData = func(id archive.ID, attempt int) error {
		switch {
		case id == flaky && attempt <= 2:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		case id == bad:
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "no thanks"}
		case id == hopeless:
			return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "mailbox full"}
		}
		return nil
	}
	o := options(addr, cfg)
	o.Retries = 3
	start := time.Now()
	rep := run(t, a, sel, o)
	if rec.attempts[flaky] != 3 || rec.attempts[bad] != 1 || rec.attempts[hopeless] != 4 {
		t.Errorf("attempts: flaky %d (want 3), 5xx %d (want 1), always 4xx %d (want 4)", rec.attempts[flaky], rec.attempts[bad], rec.attempts[hopeless])
	}
	// Back-off: 10+20 ms for flaky, 10+20+40 ms for hopeless.
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("run took %v: no back-off", d)
	}
	tot := rep.Total()
	if tot.Failed.Messages != 2 || tot.Done.Messages != int64(len(msgs)-2) {
		t.Errorf("done %d failed %d; want %d and 2", tot.Done.Messages, tot.Failed.Messages, len(msgs)-2)
	}
	probs, _ := rep.Problems()
	var text []string
	for _, p := range probs {
		text = append(text, p.Error)
	}
	if j := strings.Join(text, "\n"); !strings.Contains(j, "554") || !strings.Contains(j, "452") {
		t.Errorf("problems do not name the answers:\n%s", j)
	}
	// The rerun tries exactly the two failed ones again.
	rec.onData = nil
	rep = run(t, a, sel, o)
	if tot := rep.Total(); tot.Done.Messages != 2 || tot.Already.Messages != int64(len(msgs)-2) {
		t.Errorf("rerun: done %d already %d; want 2 and %d", tot.Done.Messages, tot.Already.Messages, len(msgs)-2)
	}
}

// TestRate: --rate paces the messages.
func TestRate(t *testing.T) {
	rec := &recorder{attempts: map[archive.ID]int{}, user: "u", pwd: "p"}
	addr, cfg := startServer(t, rec, true)
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 9, 2, false))
	o := options(addr, cfg)
	o.Rate = 20
	start := time.Now()
	run(t, a, exportertest.SelectAll(t, a), o)
	d := time.Since(start)
	// 9 messages at 20/s: the 9th starts 8 intervals (400 ms) after the first.
	if d < 400*time.Millisecond || d > 3*time.Second {
		t.Errorf("9 messages at 20/s took %v, want about 0.4 s", d)
	}
	if n := len(rec.deliveries()); n != 9 {
		t.Errorf("%d delivered, want 9", n)
	}
}

// TestAuthRefused: a wrong password ends the run with an error at once.
func TestAuthRefused(t *testing.T) {
	rec := &recorder{attempts: map[archive.ID]int{}, user: "u", pwd: "p"}
	addr, cfg := startServer(t, rec, true)
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 3, 2, false))
	o := options(addr, cfg)
	o.Password = "wrong"
	err := Run(context.Background(), a, exportertest.SelectAll(t, a), o, &exporters.Report{})
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("wrong password: %v, want a 535 error", err)
	}
}

func TestSendable(t *testing.T) {
	all := func(string) bool { return true }
	none := func(string) bool { return false }
	only := func(ext string) func(string) bool { return func(e string) bool { return e == ext } }
	for _, c := range []struct {
		f     exporters.Features
		has   func(string) bool
		size  int64
		limit int64
		ok    bool
	}{
		{exporters.Features{LongestLine: 998}, none, 10, 0, true},
		{exporters.Features{LongestLine: 999}, all, 10, 0, false},
		{exporters.Features{NUL: true}, all, 10, 0, false},
		{exporters.Features{BareCR: true}, all, 10, 0, false},
		{exporters.Features{EightBitBody: true}, none, 10, 0, false},
		{exporters.Features{EightBitBody: true}, only("8BITMIME"), 10, 0, true},
		{exporters.Features{EightBitHeader: true}, only("8BITMIME"), 10, 0, false},
		{exporters.Features{EightBitHeader: true}, only("SMTPUTF8"), 10, 0, true},
		{exporters.Features{}, none, 11, 10, false},
		{exporters.Features{}, none, 10, 10, true},
	} {
		err := sendable(c.f, c.size, c.has, c.limit, "srv")
		if (err == nil) != c.ok {
			t.Errorf("%+v size %d limit %d: %v, want ok=%v", c.f, c.size, c.limit, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrNotSendable) {
			t.Errorf("%v does not wrap ErrNotSendable", err)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "5": 5, "5/s": 5, "120/m": 2, "3600/h": 1, "0.5/s": 0.5} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "-1/s", "5/d"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
}

// TestUncertainMark: a message a killed run marked as being sent is not
// sent again by default (it most likely arrived) and is reported as
// uncertain; --resend-uncertain sends it, and its confirmation replaces
// the mark.
func TestUncertainMark(t *testing.T) {
	rec := &recorder{attempts: map[archive.ID]int{}, user: "u", pwd: "p"}
	addr, cfg := startServer(t, rec, true)
	a := archive.TestArchive(t)
	msgs := exportertest.Corpus(t, 4, 6, false)
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	o := options(addr, cfg)
	marked := archive.ID(msgs[2].ID())
	sc := o.Scope()
	if err := a.MarkSending(t.Context(), archive.Receipt{Target: sc.Target, User: sc.User, Folder: sc.Folder, ID: marked, Size: 1, Run: 7}); err != nil {
		t.Fatal(err)
	}

	rep := run(t, a, sel, o)
	if rec.attempts[marked] != 0 {
		t.Errorf("the marked message was sent %d times without --resend-uncertain", rec.attempts[marked])
	}
	if tot := rep.Total(); tot.Done.Messages != int64(len(msgs)-1) || tot.Already.Messages != 1 {
		t.Errorf("done %d already %d; want %d and 1", tot.Done.Messages, tot.Already.Messages, len(msgs)-1)
	}
	probs, _ := rep.Problems()
	if len(probs) != 1 || !strings.Contains(probs[0].Error, "run 7") || !strings.Contains(probs[0].Error, "--resend-uncertain") {
		t.Errorf("problems %+v; want one naming run 7 and --resend-uncertain", probs)
	}

	o.ResendUncertain = true
	rep = run(t, a, sel, o)
	if rec.attempts[marked] != 1 {
		t.Errorf("with ResendUncertain the marked message was sent %d times, want 1", rec.attempts[marked])
	}
	if tot := rep.Total(); tot.Done.Messages != 1 || tot.Already.Messages != int64(len(msgs)-1) {
		t.Errorf("resend: done %d already %d; want 1 and %d", tot.Done.Messages, tot.Already.Messages, len(msgs)-1)
	}
	have, err := a.Receipts(t.Context(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if r := have[marked]; r.How != archive.ReceiptSent {
		t.Errorf("receipt after the resend is %q, want %q", r.How, archive.ReceiptSent)
	}
	// Now confirmed: a third run sends nothing and warns of nothing.
	rep = run(t, a, sel, o)
	if probs, _ := rep.Problems(); rec.attempts[marked] != 1 || len(probs) != 0 {
		t.Errorf("third run: sent %d times, problems %+v", rec.attempts[marked], probs)
	}
}
