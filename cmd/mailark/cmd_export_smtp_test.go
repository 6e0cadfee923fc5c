package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters/exportertest"
)

// sink is a go-smtp backend counting what it accepts, for the CLI test.
type sink struct {
	mu   sync.Mutex
	rcpt map[string]int
	n    int
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s  *sink
	to []string
}

func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.n++
	for _, t := range x.to {
		x.s.rcpt[t]++
	}
	return nil
}
func (x *sinkSession) Reset()        { x.to = nil }
func (x *sinkSession) Logout() error { return nil }

// TestExportSMTPCLI: export smtp from the command line sends each
// selected message once to the --to recipients only, records the run in
// the audit log, and a rerun sends nothing.
func TestExportSMTPCLI(t *testing.T) {
	s := &sink{rcpt: map[string]int{}}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.MaxLineLength = 100000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	host, port, _ := strings.Cut(ln.Addr().String(), ":")

	msgs := exportertest.Corpus(t, 25, 12, false)
	dir := exportArchive(t, msgs)
	args := []string{"--json", "export", "smtp", "--host", host, "--port", port, "--tls", "none",
		"--from", "me@example.org", "--to", "a@example.org", "--to", "b@example.org", "--folder", "INBOX", "--rate", "1000/s"}
	r := mustRun(t, dir, args...)
	var rep exportReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	inbox := map[[32]byte]bool{}
	for _, m := range msgs {
		if m.Folder == "INBOX" {
			inbox[m.ID()] = true
		}
	}
	if rep.Total.Done.Messages != int64(len(inbox)) || s.n != len(inbox) || len(s.rcpt) != 2 || s.rcpt["a@example.org"] != len(inbox) {
		t.Errorf("sent %d (report %d), recipients %v; want %d to a@ and b@ only", s.n, rep.Total.Done.Messages, s.rcpt, len(inbox))
	}
	r = mustRun(t, dir, args...)
	json.Unmarshal([]byte(r.stdout), &rep)
	if s.n != len(inbox) || rep.Total.Already.Messages != int64(len(inbox)) {
		t.Errorf("rerun sent %d more; report %+v", s.n-len(inbox), rep.Total)
	}
	// Another recipient list is another export.
	r = mustRun(t, dir, "--json", "export", "smtp", "--host", host, "--port", port, "--tls", "none",
		"--from", "me@example.org", "--to", "c@example.org", "--folder", "INBOX")
	if s.rcpt["c@example.org"] != len(inbox) {
		t.Errorf("new recipient got %d", s.rcpt["c@example.org"])
	}

	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var n int
	var status string
	if err := a.DB().QueryRow(`SELECT count(*), max(status) FROM runs WHERE command = 'export smtp'`).Scan(&n, &status); err != nil || n != 3 || status != "ok" {
		t.Errorf("audit log: %d export smtp runs, status %q, %v", n, status, err)
	}
	if r := runCLI(t, dir, "export", "smtp", "--host", host, "--from", "me@example.org"); r.code != exitUsage {
		t.Errorf("no --to: exit %d", r.code)
	}

	// A message a killed run had marked as being sent: the next run says
	// so, on stderr, and does not send it; --resend-uncertain does.
	w, err := archive.Open(context.Background(), dir, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var marked archive.ID
	for id := range inbox {
		marked = id
		break
	}
	sc := archive.ReceiptScope{Target: "smtp://" + ln.Addr().String(), User: "me@example.org", Folder: "d@example.org"}
	if err := w.MarkSending(context.Background(), archive.Receipt{Target: sc.Target, User: sc.User, Folder: sc.Folder, ID: marked, Size: 1}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	dArgs := []string{"export", "smtp", "--host", host, "--port", port, "--tls", "none", "--from", "me@example.org", "--to", "d@example.org", "--folder", "INBOX"}
	r = runCLI(t, dir, dArgs...)
	if !strings.Contains(r.stderr, "delivery uncertain") || !strings.Contains(r.stderr, "--resend-uncertain") || s.rcpt["d@example.org"] != len(inbox)-1 {
		t.Errorf("a marked message: exit %d, %d of %d sent, stderr %q", r.code, s.rcpt["d@example.org"], len(inbox), r.stderr)
	}
	mustRun(t, dir, append(dArgs, "--resend-uncertain")...)
	if s.rcpt["d@example.org"] != len(inbox) {
		t.Errorf("--resend-uncertain: %d of %d sent", s.rcpt["d@example.org"], len(inbox))
	}
}

// TestExportSMTPTarget: a [[target]] of mailark.toml gives the connection
// and the envelope; flags override it.
func TestExportSMTPTarget(t *testing.T) {
	s := &sink{rcpt: map[string]int{}}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.MaxLineLength = 100000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	host, port, _ := strings.Cut(ln.Addr().String(), ":")
	msgs := exportertest.Corpus(t, 10, 13, false)
	dir := exportArchive(t, msgs)
	conf := fmt.Sprintf("[[target]]\nname = \"relay\"\nkind = \"smtp\"\nhost = %q\nport = %s\ntls = \"none\"\nfrom = \"me@example.org\"\nto = [\"t@example.org\"]\nrate = 1000\n", host, port)
	if err := os.WriteFile(filepath.Join(dir, "mailark.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "export", "smtp", "--target", "relay", "--folder", "INBOX")
	if s.rcpt["t@example.org"] == 0 || len(s.rcpt) != 1 {
		t.Errorf("recipients %v, want only the target's t@example.org", s.rcpt)
	}
	mustRun(t, dir, "export", "smtp", "--target", "relay", "--to", "o@example.org", "--folder", "INBOX")
	if s.rcpt["o@example.org"] == 0 {
		t.Errorf("--to did not override the target: %v", s.rcpt)
	}
	if r := runCLI(t, dir, "export", "imap", "--target", "relay"); r.code != exitUsage || !strings.Contains(r.stderr, "smtp target") {
		t.Errorf("an smtp target for export imap: exit %d, %s", r.code, r.stderr)
	}
	if r := runCLI(t, dir, "export", "smtp", "--target", "nope"); r.code != exitUsage {
		t.Errorf("an unknown target: exit %d", r.code)
	}
}
