package imap

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/faultproxy"
	"github.com/mailark/mailark/internal/tlsopt"
)

// memServer is an in-process IMAP server (go-imap's imapmemserver) behind
// a session wrapper that counts commands and injects faults.
type memServer struct {
	t    testing.TB
	user *imapmemserver.User
	srv  *imapserver.Server
	Addr string

	mu        sync.Mutex
	fetchErr  map[string]map[imap.UID]*imap.Error // mailbox -> UIDs whose BODY[] FETCH is refused
	selectErr map[string]*imap.Error              // mailbox -> answer to SELECT/EXAMINE
	afterList func()                              // run once, after the first LIST is answered
	// beforeBody runs once, before the first FETCH of bodies is answered.
	beforeBody func(mailbox string)
	delim      rune              // LIST delimiter to claim; 0: the memserver's '/'
	names      []string          // mailboxes, for the custom LIST
	tokens     map[string]string // bearer tokens accepted by XOAUTH2/OAUTHBEARER

	selects     atomic.Int64
	bodyFetches atomic.Int64             // FETCH commands asking for a body
	fetchesBy   map[string]*atomic.Int64 // any FETCH, per mailbox
}

const testUser, testPass = "alice@example.org", "secret"

type memOptions struct {
	tls      *tls.Config // STARTTLS
	implicit bool        // serve implicit TLS with tls
}

func startMem(t testing.TB, mo memOptions) *memServer {
	t.Helper()
	ms := &memServer{t: t, user: imapmemserver.NewUser(testUser, testPass), tokens: map[string]string{}, fetchesBy: map[string]*atomic.Int64{}}
	ms.create("INBOX")
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &memSession{ms: ms}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: mo.tls == nil,
		Logger:       discardLogger{},
	}
	if !mo.implicit {
		opts.TLSConfig = mo.tls
	}
	ms.srv = imapserver.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if mo.implicit {
		ln = tls.NewListener(ln, mo.tls)
	}
	ms.Addr = ln.Addr().String()
	go ms.srv.Serve(ln)
	t.Cleanup(func() { ms.srv.Close() })
	return ms
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

func (ms *memServer) create(name string) {
	if err := ms.user.Create(name, nil); err != nil {
		ms.t.Fatal(err)
	}
	ms.mu.Lock()
	ms.names = append(ms.names, name)
	ms.fetchesBy[name] = new(atomic.Int64)
	ms.mu.Unlock()
}

// recreate deletes and creates a mailbox: a new UIDVALIDITY.
func (ms *memServer) recreate(name string) {
	if err := ms.user.Delete(name); err != nil {
		ms.t.Fatal(err)
	}
	if err := ms.user.Create(name, nil); err != nil {
		ms.t.Fatal(err)
	}
}

// add appends a message and returns its UID.
func (ms *memServer) add(mailbox string, raw []byte, flags []string, date time.Time) imap.UID {
	var fl []imap.Flag
	for _, f := range flags {
		fl = append(fl, imap.Flag(f))
	}
	data, err := ms.user.Append(mailbox, &byteLiteral{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Flags: fl, Time: date})
	if err != nil {
		ms.t.Fatal(err)
	}
	return data.UID
}

// set runs fn (which changes the faults) under the server's lock.
func (ms *memServer) set(fn func()) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	fn()
}

// failFetch makes the BODY[] FETCH of uid answer NO, or no longer.
func (ms *memServer) failFetch(mailbox string, uid imap.UID, fail bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.fetchErr == nil {
		ms.fetchErr = map[string]map[imap.UID]*imap.Error{}
	}
	if ms.fetchErr[mailbox] == nil {
		ms.fetchErr[mailbox] = map[imap.UID]*imap.Error{}
	}
	ms.fetchErr[mailbox][uid] = nil
	if fail {
		ms.fetchErr[mailbox][uid] = &imap.Error{Type: imap.StatusResponseTypeNo, Text: fmt.Sprintf("simulated failure of UID %d", uid)}
	}
}

func (ms *memServer) fetches(mailbox string) int64 {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.fetchesBy[mailbox].Load()
}

type byteLiteral struct {
	*bytes.Reader
	n int64
}

func (l *byteLiteral) Size() int64 { return l.n }

// memSession is an imapmemserver session with fault injection.
type memSession struct {
	*imapmemserver.UserSession
	ms      *memServer
	mailbox string
}

var _ imapserver.SessionSASL = (*memSession)(nil)

func (s *memSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

func (s *memSession) Login(user, pass string) error {
	if err := s.ms.user.Login(user, pass); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(s.ms.user)
	return nil
}

func (s *memSession) AuthenticateMechanisms() []string {
	return []string{"PLAIN", "XOAUTH2", "OAUTHBEARER"}
}

func (s *memSession) Authenticate(mech string) (sasl.Server, error) {
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return imapserver.ErrAuthFailed
			}
			return s.Login(user, pass)
		}), nil
	case "OAUTHBEARER":
		return sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if err := s.bearer(o.Username, o.Token); err != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			return nil
		}), nil
	case "XOAUTH2":
		return &xoauth2Server{s: s}, nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "unsupported mechanism"}
}

func (s *memSession) bearer(user, token string) error {
	s.ms.mu.Lock()
	want, ok := s.ms.tokens[user]
	s.ms.mu.Unlock()
	if !ok || token != want {
		return imapserver.ErrAuthFailed
	}
	s.UserSession = imapmemserver.NewUserSession(s.ms.user)
	return nil
}

// xoauth2Server is the server side of XOAUTH2, enough for a test: on a bad
// token it sends the error challenge and fails after the client's reply.
type xoauth2Server struct {
	s      *memSession
	failed bool
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, imapserver.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, kv := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(kv, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(kv, "auth=Bearer "); ok {
			token = v
		}
	}
	if err := x.s.bearer(user, token); err != nil {
		x.failed = true
		return []byte(`{"status":"401"}`), false, nil
	}
	return nil, true, nil
}

func (s *memSession) Select(name string, o *imap.SelectOptions) (*imap.SelectData, error) {
	s.ms.mu.Lock()
	e := s.ms.selectErr[name]
	s.ms.mu.Unlock()
	if e != nil {
		return nil, e
	}
	s.ms.selects.Add(1)
	s.mailbox = name
	return s.UserSession.Select(name, o)
}

func (s *memSession) List(w *imapserver.ListWriter, ref string, patterns []string, o *imap.ListOptions) error {
	s.ms.mu.Lock()
	delim, names := s.ms.delim, append([]string(nil), s.ms.names...)
	hook := s.ms.afterList
	s.ms.afterList = nil
	s.ms.mu.Unlock()
	if hook != nil {
		defer hook()
	}
	if delim == 0 {
		return s.UserSession.List(w, ref, patterns, o)
	}
	for _, n := range names {
		if err := w.WriteList(&imap.ListData{Mailbox: n, Delim: delim}); err != nil {
			return err
		}
	}
	return nil
}

// Fetch answers the refused UIDs' error after sending the others, as a
// server does that cannot read some messages of a batch.
func (s *memSession) Fetch(w *imapserver.FetchWriter, set imap.NumSet, o *imap.FetchOptions) error {
	s.ms.mu.Lock()
	if c := s.ms.fetchesBy[s.mailbox]; c != nil {
		c.Add(1)
	}
	var hook func(string)
	if len(o.BodySection) > 0 {
		hook, s.ms.beforeBody = s.ms.beforeBody, nil
	}
	bad := s.ms.fetchErr[s.mailbox]
	var answer *imap.Error
	uids, isUID := set.(imap.UIDSet)
	if len(o.BodySection) > 0 && isUID && !uids.Dynamic() {
		s.ms.bodyFetches.Add(1)
		var keep imap.UIDSet
		all, _ := uids.Nums()
		for _, u := range all {
			if e := bad[u]; e != nil {
				answer = e
			} else {
				keep.AddNum(u)
			}
		}
		set = keep
	}
	s.ms.mu.Unlock()
	if hook != nil {
		hook(s.mailbox)
	}
	if answer != nil {
		if nums, _ := set.(imap.UIDSet).Nums(); len(nums) > 0 {
			if err := s.UserSession.Fetch(w, set, o); err != nil {
				return err
			}
		}
		return answer
	}
	return s.UserSession.Fetch(w, set, o)
}

// startProxy forwards TCP connections to target (internal/faultproxy);
// plan(n) gives the n-th connection (from 0) its fault: after cut server
// bytes the connection is closed, after stall server bytes forwarding
// stops (the connection stays open until the test ends); -1 means never.
func startProxy(t testing.TB, target string, plan func(n int) (cut, stall int64)) *faultproxy.Proxy {
	t.Helper()
	return startRateProxy(t, target, plan, 0)
}

// startRateProxy is startProxy with server->client bytes limited to rate
// per 10 ms if rate > 0.
func startRateProxy(t testing.TB, target string, plan func(n int) (cut, stall int64), rate int) *faultproxy.Proxy {
	t.Helper()
	return faultproxy.Start(t, target, func(n int) faultproxy.Fault {
		var f faultproxy.Fault
		if rate > 0 {
			f.Delay, f.Chunk = 10*time.Millisecond, rate
		}
		if plan == nil {
			return f
		}
		switch cut, stall := plan(n); {
		case cut >= 0:
			f.Kind, f.After = faultproxy.Cut, cut
		case stall >= 0:
			f.Kind, f.After = faultproxy.Stall, stall
		}
		return f
	})
}

// selfSigned returns a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func selfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailark test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	return server, client
}

// testOptions are Options for a memServer at addr: plain IMAP, short
// timeouts and back-off.
func testOptions(t testing.TB, addr string) Options {
	return Options{
		Addr: addr, Host: "memserver", TLS: tlsopt.None, User: testUser, Password: testPass,
		Connections: 3, IdleTimeout: 2 * time.Second, RetryDelay: 5 * time.Millisecond, MaxRetries: 5,
		Logger: testLogger(t),
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MAILARK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// importInto runs one import into a and commits it.
func importInto(t testing.TB, a *archive.Archive, o Options) (*Summary, *importers.Report, error) {
	t.Helper()
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep := &importers.Report{}
	sum, err := Run(ctx, w, o, rep, nil)
	if cerr := w.Commit(ctx); cerr != nil {
		t.Fatalf("commit: %v", cerr)
	}
	return sum, rep, err
}

func mustImport(t testing.TB, a *archive.Archive, o Options) (*Summary, *importers.Report) {
	t.Helper()
	sum, rep, err := importInto(t, a, o)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum, rep
}

func folderReport(t testing.TB, sum *Summary, name string) *FolderReport {
	t.Helper()
	for _, f := range sum.Folders {
		if f.Folder == name {
			return f
		}
	}
	t.Fatalf("no folder %q in the summary", name)
	return nil
}

// catalog returns the archive's entries: folder -> hex ID -> entry.
type entry struct {
	uid   uint32
	flags string
	date  int64
	file  string
}

func catalog(t testing.TB, a *archive.Archive, account string) map[string]map[string]entry {
	t.Helper()
	rows, err := a.DB().Query(`SELECT f.name, m.hash, e.uid, e.flags, e.internal_date, e.filename FROM entries e
		JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message WHERE f.account = ?`, account)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]entry{}
	for rows.Next() {
		var folder string
		var h []byte
		var e entry
		if err := rows.Scan(&folder, &h, &e.uid, &e.flags, &e.date, &e.file); err != nil {
			t.Fatal(err)
		}
		if out[folder] == nil {
			out[folder] = map[string]entry{}
		}
		out[folder][hex.EncodeToString(h)] = e
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fileOf returns the path of an entry's file.
func fileOf(t testing.TB, a *archive.Archive, account, folder string, e entry) string {
	t.Helper()
	rel, err := archive.FolderDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(a.MaildirRoot(), account, rel, "cur", e.file)
}

func idHex(raw []byte) string {
	id := archive.Sum(raw)
	return id.String()
}

// tmpFiles counts files left in the account's tmp/ directories.
func tmpFiles(t testing.TB, a *archive.Archive, account string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(a.MaildirRoot(), account), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "tmp" {
			n++
		}
		return nil
	})
	return n
}

func state(t testing.TB, a *archive.Archive, host, folder, key string) string {
	t.Helper()
	v, _, err := a.State(context.Background(), StateSource(host, testUser, folder), key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
