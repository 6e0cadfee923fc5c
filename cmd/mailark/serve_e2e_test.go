package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailark/mailark"
)

// serveAddr starts cmd, a serve command, and returns the address its first
// line on stderr announces and the rest of stderr; cmd is killed at the
// end of the test.
func serveAddr(t *testing.T, cmd *exec.Cmd) (addr string, rest *bufio.Reader) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	br := bufio.NewReader(stderr)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	m := regexp.MustCompile(`imap://(127\.0\.0\.1:\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("serve said %q", line)
	}
	return m[1], br
}

// TestServeE2E runs the real binary: users add/list/remove, serve, a
// writer refused while it runs, a client session, SIGTERM.
func TestServeE2E(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	src, err := mailark.ExtractSample(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "import", "maildir", src, "--account", "demo")

	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("s3cret words\n"), 0o600)
	mustRun(t, dir, "users", "add", "alice", "--accounts", "demo", "--password-file", pwFile)
	mustRun(t, dir, "users", "add", "bob", "--password-file", pwFile)
	users := filepath.Join(dir, "users")
	fi, err := os.Stat(users)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode %v", fi.Mode())
	}
	b, _ := os.ReadFile(users)
	if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "alice:$2a$10$") {
		t.Fatalf("users file:\n%s", b)
	}
	if r := mustRun(t, dir, "users", "list"); r.stdout != "alice\tdemo\nbob\t*\n" {
		t.Fatalf("users list: %q", r.stdout)
	}
	mustRun(t, dir, "users", "remove", "bob")
	if r := runCLI(t, dir, "users", "remove", "bob"); r.code != 1 {
		t.Fatalf("removing a missing user: exit %d", r.code)
	}
	if r := runCLI(t, dir, "users", "add", "x:y", "--password-file", pwFile); r.code != 2 {
		t.Fatalf("bad name: exit %d", r.code)
	}
	if r := runCLI(t, dir, "serve", "--listen", "0.0.0.0:0"); r.code != 2 || !strings.Contains(r.stderr, "--tls-cert") {
		t.Fatalf("public address without TLS: exit %d: %s", r.code, r.stderr)
	}

	cmd := exec.Command(binary, "--archive", dir, "serve", "--listen", "127.0.0.1:0")
	addr, br := serveAddr(t, cmd)
	go io.Copy(io.Discard, br)

	// Another writer fails at once, naming the server's pid.
	r := runCLI(t, dir, "import", "maildir", src, "--account", "demo")
	if r.code != 4 || !strings.Contains(r.stderr, strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("import while serving: exit %d: %s", r.code, r.stderr)
	}

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	cr := bufio.NewReader(conn)
	read := func() string {
		l, err := cr.ReadString('\n')
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		return strings.TrimSuffix(l, "\r\n")
	}
	transact := func(cmd string) []string {
		io.WriteString(conn, "x "+cmd+"\r\n")
		var out []string
		for {
			l := read()
			out = append(out, l)
			if strings.HasPrefix(l, "x ") {
				return out
			}
		}
	}
	read() // greeting
	if out := transact(`LOGIN alice "s3cret words"`); !strings.HasPrefix(out[len(out)-1], "x OK") {
		t.Fatalf("login: %q", out)
	}
	if out := transact(`LIST "" %`); !strings.Contains(strings.Join(out, "\n"), `* LIST (\HasNoChildren) "/" INBOX`) {
		t.Fatalf("list: %q", out)
	}
	if out := transact("SELECT INBOX"); out[len(out)-1] != "x OK [READ-ONLY] EXAMINE completed" {
		t.Fatalf("select: %q", out)
	}
	// SIGTERM: the client is told BYE, the server exits 0.
	cmd.Process.Signal(syscall.SIGTERM)
	if l := read(); l != "* BYE Server shutting down" {
		t.Fatalf("on SIGTERM: %q", l)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
