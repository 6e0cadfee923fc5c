package pop3

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/pop3test"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildMailark builds the real binary, once per test process, into a
// temporary directory.
func buildMailark(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailark-pop3-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mailark")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/mailark/mailark/cmd/mailark").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building mailark: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// countFiles counts the message files in an archive's Maildirs.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(filepath.Join(dir, "maildir"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(path)) == "cur" {
			n++
		}
		return nil
	})
	return n
}

// popCommand is 'mailark import pop3' for user of s into dir.
func popCommand(bin, dir string, s *dovecottest.Server, user string, extra ...string) *exec.Cmd {
	host, port, _ := strings.Cut(s.POP3Addr, ":")
	args := append([]string{"--archive", dir, "import", "pop3", "--host", host, "--port", port,
		"--tls-ca", s.CAFile, "--user", user, "--password-env", "POP3_TEST_PASSWORD", "--account", "mail"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "POP3_TEST_PASSWORD="+s.Password(user))
	return cmd
}

// catalogDump lists (account, folder, uid, id, flags, date) of every
// entry, sorted.
func catalogDump(t *testing.T, dir string) []string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "catalog.db")); err != nil {
		return nil
	}
	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rows, err := a.DB().Query(`SELECT f.account, f.name, e.uid, hex(m.hash), e.flags, e.internal_date
		FROM entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var acct, folder, hash, flags string
		var uid, date int64
		if err := rows.Scan(&acct, &folder, &uid, &hash, &flags, &date); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s/%s uid=%d %s [%s] %d", acct, folder, uid, hash, flags, date))
	}
	sort.Strings(out)
	return out
}

// TestBinaryKilledAndResumed kills 'mailark import pop3 --delete' with
// SIGKILL at random moments, reruns it, and compares the end state with an
// uninterrupted import of the same mail: the same catalog entries, and the
// server emptied of exactly what is archived.
func TestBinaryKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	s := dovecottest.Start(t, dovecottest.Options{})
	msgs := corpusInbox(t, 1200, 21)
	fill(t, s, "alice", msgs)
	fill(t, s, "bob", msgs)
	bin := buildMailark(t)

	clean := filepath.Join(t.TempDir(), "clean")
	start := time.Now()
	cmd := popCommand(bin, clean, s, "alice", "--json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("clean run: %v\n%s", err, out)
	}
	var rep struct {
		Status       string  `json:"status"`
		IndexSeconds float64 `json:"index_seconds"`
		Counts       archive.RunCounts
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	t.Logf("clean run: %v, of which indexing %.1fs", time.Since(start), rep.IndexSeconds)
	want := catalogDump(t, clean)
	if rep.Status != "ok" || len(want) == 0 {
		t.Fatalf("clean run: %+v, %d entries", rep, len(want))
	}

	// Each killed run is killed just after one of its batches starts to
	// land in the Maildir (files renamed, catalog maybe not yet committed),
	// give or take a few milliseconds: a kill that lands after the import
	// (while indexing) proves little.
	killed := filepath.Join(t.TempDir(), "killed")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	midway := 0
	for range 3 {
		before := countFiles(killed)
		cmd := popCommand(bin, killed, s, "bob", "--delete")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		deadline := time.After(time.Minute)
	poll:
		for countFiles(killed) == before {
			select {
			case <-exited:
				break poll
			case <-deadline:
				t.Fatal("the import made no progress in a minute")
			case <-time.After(2 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		n := len(catalogDump(t, killed))
		t.Logf("killed run: %d entries in the catalog, %d files", n, countFiles(killed))
		if n < len(want) {
			midway++
			// Killed before QUIT: the server still has everything.
			if left := stat(t, s, "bob"); left != len(msgs) {
				t.Fatalf("killed mid-import, %d messages left on the server of %d", left, len(msgs))
			}
		}
	}
	if midway == 0 {
		t.Fatal("no kill landed in the middle of the import")
	}
	final := popCommand(bin, killed, s, "bob", "--delete")
	if out, err := final.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	got := catalogDump(t, killed)
	if len(got) != len(want) {
		t.Fatalf("after kills: %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after kills: entry %d is %q, want %q", i, got[i], want[i])
		}
	}
	if left := stat(t, s, "bob"); left != 0 {
		t.Fatalf("%d messages left on the server after --delete", left)
	}
	if n := stat(t, s, "alice"); n != len(msgs) {
		t.Fatalf("alice's maildrop changed without --delete: %d", n)
	}
	if out, err := exec.Command(bin, "--archive", killed, "verify").CombinedOutput(); err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	t.Logf("%d kills mid-import, %d entries identical to the clean run", midway, len(want))
}

// TestBinaryUsage checks the command's flags and exit codes.
func TestBinaryUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildMailark(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import", "pop3", "--user", "u", "--password-env", "X"}, 2, "--host is required"},
		{[]string{"import", "pop3", "--host", "h", "--password-env", "X"}, 2, "--user is required"},
		{[]string{"import", "pop3", "--host", "h", "--user", "u"}, 2, "no password given"},
		{[]string{"import", "pop3", "--host", "h", "--user", "u", "--password-env", "X", "--tls", "ssl"}, 2, "want tls, starttls or none"},
		{[]string{"import", "pop3", "--host", "127.0.0.1", "--port", "1", "--user", "u", "--password-env", "HOME"}, 1, "connecting to 127.0.0.1:1"},
	} {
		cmd := exec.Command(bin, append([]string{"--archive", dir}, tc.args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestBinaryExitStatus runs the command against the test server: a
// message the server refuses makes the run finish with exit status 3 and
// the report name it; --delete reports what it removed.
func TestBinaryExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildMailark(t)
	srvCfg, _, caPEM, err := pop3test.TLSConfigs()
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, mailbox(5), func(s *pop3test.Server) { s.TLSConfig = srvCfg })
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, _ int) pop3test.RetrAction {
		if n == 2 {
			return pop3test.RetrAction{Err: "[SYS/PERM] message unreadable"}
		}
		return pop3test.RetrAction{}
	}})
	dir := filepath.Join(t.TempDir(), "archive")
	host, port, _ := strings.Cut(srv.Addr, ":")
	run := func(extra ...string) (int, string, string) {
		cmd := exec.Command(bin, append([]string{"--archive", dir, "import", "pop3", "--host", host, "--port", port,
			"--tls-ca", ca, "--user", testUser, "--password-env", "POP3_TEST_PASSWORD"}, extra...)...)
		cmd.Env = append(os.Environ(), "POP3_TEST_PASSWORD="+testPass)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stdout.String(), stderr.String()
	}
	code, stdout, stderr := run("--json")
	var rep struct {
		Status   string
		Counts   archive.RunCounts
		Problems []archive.RunProblem
		Server   Result
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if code != 3 || rep.Status != "partial" || rep.Counts.New != 4 || rep.Counts.Failed != 1 || rep.Server.OnServer != 5 ||
		len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Where, "msg 2 uidl U2") {
		t.Fatalf("exit %d, report %+v\nstderr: %s", code, rep, stderr)
	}
	srv.SetHooks(pop3test.Hooks{})
	code, stdout, stderr = run("--delete")
	if code != 0 || !strings.Contains(stdout, "1 new") || !strings.Contains(stdout, "4 already archived") ||
		!strings.Contains(stdout, "5 messages deleted from the server") || len(srv.Mailbox(testUser)) != 0 {
		t.Fatalf("--delete: exit %d\n%s%s", code, stdout, stderr)
	}
}
