package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailark/mailark/internal/dovecottest"
)

// TestSyncTwoAccounts: one IMAP and one POP3 account in mailark.toml,
// against a real Dovecot: the first sync imports both, the second nothing,
// and new mail on either shows up in the third.
func TestSyncTwoAccounts(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Options{})
	msg := func(n int, who string) []byte {
		return []byte(fmt.Sprintf("From: %s@example.org\r\nTo: x@example.org\r\nSubject: sync test %d\r\nMessage-ID: <sync-%s-%d@example.org>\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\nbody %d\r\n", who, n, who, n, n))
	}
	day := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	for i := range 5 {
		srv.Fill(t, "alice", "INBOX", msg(i, "alice"), nil, day)
		srv.Fill(t, "alice", "Archive", msg(100+i, "alice"), []string{`\Seen`}, day)
		srv.Fill(t, "bob", "INBOX", msg(i, "bob"), nil, day)
	}
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, dir, "init")
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(srv.Password("alice")+"\n"), 0o600)
	pwb := filepath.Join(t.TempDir(), "pwb")
	os.WriteFile(pwb, []byte(srv.Password("bob")+"\n"), 0o600)
	ihost, iport, _ := net.SplitHostPort(srv.IMAPSAddr)
	phost, pport, _ := net.SplitHostPort(srv.POP3Addr)
	conf := fmt.Sprintf(`
[[account]]
name = "work"
kind = "imap"
host = %q
port = %s
tls = "tls"
tls_ca = %q
user = "alice"
password_file = %q

[[account]]
name = "old"
kind = "pop3"
host = %q
port = %s
tls = "starttls"
tls_ca = %q
user = "bob"
password_file = %q
`, ihost, iport, srv.CAFile, pw, phost, pport, srv.CAFile, pwb)
	if err := os.WriteFile(filepath.Join(dir, "mailark.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	sync := func() []syncResult {
		t.Helper()
		var res []syncResult
		r := mustRun(t, dir, "--json", "sync")
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("sync --json: %v\n%s", err, r.stdout)
		}
		return res
	}
	newOf := func(res []syncResult) map[string]int64 {
		m := map[string]int64{}
		for _, r := range res {
			m[r.Account] = r.Counts.New + r.Counts.Linked
			if r.Status != "ok" {
				t.Errorf("%s: status %s: %s", r.Account, r.Status, r.Error)
			}
		}
		return m
	}
	if got := newOf(sync()); got["work"] != 10 || got["old"] != 5 {
		t.Fatalf("first sync: %v, want work 10, old 5", got)
	}
	start := time.Now()
	if got := newOf(sync()); got["work"] != 0 || got["old"] != 0 {
		t.Fatalf("second sync: %v, want nothing new", got)
	}
	t.Logf("no-op sync of 2 accounts: %v", time.Since(start))
	srv.Fill(t, "alice", "Archive", msg(200, "alice"), nil, day)
	srv.Fill(t, "bob", "INBOX", msg(300, "bob"), nil, day)
	if got := newOf(sync()); got["work"] != 1 || got["old"] != 1 {
		t.Fatalf("third sync: %v, want one new each", got)
	}
	mustRun(t, dir, "verify")
	// Only the named account runs; an unknown one is a usage error.
	var res []syncResult
	json.Unmarshal([]byte(mustRun(t, dir, "--json", "sync", "old").stdout), &res)
	if len(res) != 1 || res[0].Account != "old" {
		t.Errorf("sync old: %+v", res)
	}
	if r := runCLI(t, dir, "sync", "nope"); r.code != exitUsage || !strings.Contains(r.stderr, "nope") {
		t.Errorf("sync of an unknown account: exit %d, %s", r.code, r.stderr)
	}
	// A refused login fails that account (exit 1), and the other still runs.
	os.WriteFile(pwb, []byte("wrong\n"), 0o600)
	if r := runCLI(t, dir, "sync"); r.code != exitFailure || !strings.Contains(r.stdout, "failed") {
		t.Errorf("sync with a wrong password: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestServeSyncEvery: a server with --sync-every imports new mail of the
// configured accounts while it serves.
func TestServeSyncEvery(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Options{})
	day := time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
	srv.Fill(t, "alice", "INBOX", []byte("Subject: one\r\nMessage-ID: <one@x>\r\n\r\n1\r\n"), nil, day)
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, dir, "init")
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(srv.Password("alice")+"\n"), 0o600)
	host, port, _ := net.SplitHostPort(srv.IMAPSAddr)
	conf := fmt.Sprintf("[[account]]\nname = \"work\"\nkind = \"imap\"\nhost = %q\nport = %s\ntls = \"tls\"\ntls_ca = %q\nuser = \"alice\"\npassword_file = %q\n", host, port, srv.CAFile, pw)
	os.WriteFile(filepath.Join(dir, "mailark.toml"), []byte(conf), 0o600)
	cmd := exec.Command(binary, "--archive", dir, "serve", "--listen", "127.0.0.1:0", "--sync-every", "1s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	count := func() int64 {
		var s struct{ Messages int64 }
		json.Unmarshal([]byte(runCLI(t, dir, "--json", "stats").stdout), &s)
		return s.Messages
	}
	waitFor := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("the server's sync did not reach %d messages (has %d)", n, count())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor(1)
	srv.Fill(t, "alice", "INBOX", []byte("Subject: two\r\nMessage-ID: <two@x>\r\n\r\n2\r\n"), nil, day)
	waitFor(2)
}
