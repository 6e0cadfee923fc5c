package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSFlagWarnings: every network command warns on stderr when a flag
// weakens TLS, and takes an unreadable --tls-ca as a usage error (exit 2),
// before it connects. Nothing listens on the port, and the importers retry
// a refused connection for a while, so a run is stopped once its warning
// is out.
func TestTLSFlagWarnings(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	dir := sampleImported(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--host", "127.0.0.1", "--port", port, "--user", "u", "--password-file", pw}
	for name, cmd := range map[string][]string{
		"import imap": {"import", "imap"},
		"import pop3": {"import", "pop3"},
		"export imap": {"export", "imap"},
		"export smtp": {"export", "smtp", "--from", "me@example.org", "--to", "you@example.org"},
	} {
		args := append(append([]string{}, cmd...), conn...)
		want := "--tls none: the password crosses the network in clear"
		if name == "import pop3" {
			want += " unless the server offers APOP"
		}
		if stderr, ok := stderrUntil(t, dir, want, append(args, "--tls", "none")...); !ok {
			t.Errorf("%s --tls none: no warning %q in %q", name, want, stderr)
		}
		want = "--insecure-skip-verify: the server's certificate is not checked"
		if stderr, ok := stderrUntil(t, dir, want, append(args, "--tls", "tls", "--insecure-skip-verify")...); !ok {
			t.Errorf("%s --insecure-skip-verify: no warning in %q", name, stderr)
		}
		r := runCLI(t, dir, append(args, "--tls", "tls", "--tls-ca", filepath.Join(t.TempDir(), "missing.pem"))...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "missing.pem") {
			t.Errorf("%s with a missing --tls-ca: exit %d, stderr %q; want %d naming the file", name, r.code, r.stderr, exitUsage)
		}
	}
}

// stderrUntil runs mailark until a line of its stderr contains want (then
// kills it) or it exits, and returns what it wrote to stderr.
func stderrUntil(t *testing.T, archiveDir, want string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--archive", archiveDir}, args...)...)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var seen strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), want) {
			return seen.String(), true
		}
	}
	return seen.String(), false
}
