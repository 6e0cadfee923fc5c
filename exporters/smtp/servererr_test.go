package smtp

import (
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// Server-side errors (issue #9): 421 (the server closes the connection),
// 451/452 (temporary) and 552/554 (permanent), each for one message of a
// run, and always or only at first.

// closingBackend is the recorder behind a plain server that counts
// connections and, like a real server, closes the connection after
// answering 421.
type closingBackend struct {
	r     *recorder
	conns atomic.Int64
}

func (b *closingBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.conns.Add(1)
	return &closingSession{session: session{r: b.r}, c: c}, nil
}

type closingSession struct {
	session
	c *smtp.Conn
}

func (s *closingSession) Data(r io.Reader) error {
	err := s.session.Data(r)
	if se, ok := err.(*smtp.SMTPError); ok && se.Code == 421 {
		// After go-smtp has written the answer.
		time.AfterFunc(50*time.Millisecond, func() { s.c.Close() })
	}
	return err
}

func startClosing(t *testing.T, b *closingBackend) string {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.EnableSMTPUTF8 = true
	srv.MaxMessageBytes = 10 << 20
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestServerErrSMTPAnswers sends 5 messages; one of them gets the answer
// under test. Temporary answers (421, 451, 452) are retried, on a new
// connection for 421, and reported only when they persist; permanent ones
// (552, 554) fail the message at once. The run always goes on, the report
// names the message and the answer, a refused message is not delivered
// and gets no receipt, and the rerun delivers exactly it.
func TestServerErrSMTPAnswers(t *testing.T) {
	for _, c := range []struct {
		name     string
		code     int
		enh      smtp.EnhancedCode
		text     string
		failures int // answers before the server accepts; -1: never
		attempts int // DATA attempts for the message in the first run
		report   string
	}{
		{"421 once", 421, smtp.EnhancedCode{4, 3, 2}, "shutting down", 1, 2, ""},
		{"421 always", 421, smtp.EnhancedCode{4, 3, 2}, "shutting down", -1, 3, "still not accepted after 3 tries: SMTP error 421: shutting down"},
		{"451 twice", 451, smtp.EnhancedCode{4, 3, 0}, "try again later", 2, 3, ""},
		{"451 always", 451, smtp.EnhancedCode{4, 3, 0}, "try again later", -1, 3, "still not accepted after 3 tries: SMTP error 451: try again later"},
		{"452 always", 452, smtp.EnhancedCode{4, 2, 2}, "mailbox full", -1, 3, "still not accepted after 3 tries: SMTP error 452: mailbox full"},
		{"552", 552, smtp.EnhancedCode{5, 3, 4}, "message too big", -1, 1, "server refused the message: SMTP error 552: message too big"},
		{"554", 554, smtp.EnhancedCode{5, 7, 1}, "rejected as spam", -1, 1, "server refused the message: SMTP error 554: rejected as spam"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{attempts: map[archive.ID]int{}}
			b := &closingBackend{r: rec}
			addr := startClosing(t, b)
			a := archive.TestArchive(t)
			msgs := exportertest.Corpus(t, 5, 11, false)
			exportertest.Fill(t, a, "work", msgs)
			sel := exportertest.SelectAll(t, a)
			victim := archive.ID(msgs[2].ID())
			var faultOn atomic.Bool
			faultOn.Store(true)
			rec.onData = func(id archive.ID, attempt int) error {
				if id == victim && faultOn.Load() && (c.failures < 0 || attempt <= c.failures) {
					return &smtp.SMTPError{Code: c.code, EnhancedCode: c.enh, Message: c.text}
				}
				return nil
			}
			o := Options{Addr: addr, TLS: tlsopt.None, From: "exporter@example.org", To: []string{"archive@example.org"},
				Retries: 2, Backoff: 5 * time.Millisecond}

			rep := run(t, a, sel, o)
			delivered := map[archive.ID]int{}
			for _, d := range rec.deliveries() {
				delivered[archive.Sum(d.data)]++
			}
			if n := rec.attempts[victim]; n != c.attempts {
				t.Errorf("%d DATA attempts for the message, want %d", n, c.attempts)
			}
			if c.code == 421 && b.conns.Load() < 2 {
				t.Errorf("%d connections: no reconnect after 421", b.conns.Load())
			}
			tot := rep.Total()
			probs, _ := rep.Problems()
			others := int64(len(msgs) - 1)
			if c.report == "" {
				// Accepted after the temporary answers: nothing to report.
				if tot.Done.Messages != others+1 || tot.Failed.Messages != 0 || len(probs) != 0 || delivered[victim] != 1 {
					t.Errorf("done %d failed %d problems %+v delivered %d; want all done once", tot.Done.Messages, tot.Failed.Messages, probs, delivered[victim])
				}
				return
			}
			if tot.Done.Messages != others || tot.Failed.Messages != 1 || delivered[victim] != 0 {
				t.Errorf("done %d failed %d, victim delivered %d times; want %d, 1, 0", tot.Done.Messages, tot.Failed.Messages, delivered[victim], others)
			}
			if len(probs) != 1 {
				t.Fatalf("problems %+v, want one", probs)
			}
			if p := probs[0]; !p.Fatal || !strings.Contains(p.Where, victim.Short()) || !strings.Contains(p.Where, "work/") || p.Error != c.report {
				t.Errorf("problem %s: %s (failed %v); want the message named and %q", p.Where, p.Error, p.Fatal, c.report)
			}

			faultOn.Store(false)
			rep = run(t, a, sel, o)
			if tot := rep.Total(); tot.Done.Messages != 1 || tot.Already.Messages != others || tot.Failed.Messages != 0 {
				t.Errorf("rerun: done %d already %d failed %d; want 1, %d, 0", tot.Done.Messages, tot.Already.Messages, tot.Failed.Messages, others)
			}
			delivered = map[archive.ID]int{}
			for _, d := range rec.deliveries() {
				delivered[archive.Sum(d.data)]++
			}
			for _, m := range msgs {
				if n := delivered[archive.ID(m.ID())]; n != 1 {
					t.Errorf("message %s delivered %d times over both runs, want once", archive.ID(m.ID()).Short(), n)
				}
			}
		})
	}
}
