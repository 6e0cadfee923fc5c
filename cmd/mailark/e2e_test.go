package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/mbox"
)

// The end-to-end tests run the real binary, as users and scripts do.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailark-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mailark")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building mailark: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, archiveDir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--archive", archiveDir}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running mailark %v: %v", args, err)
	}
	return r
}

func mustRun(t *testing.T, archiveDir string, args ...string) result {
	t.Helper()
	r := runCLI(t, archiveDir, args...)
	if r.code != 0 {
		t.Fatalf("mailark %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// corpus generates a realistic corpus and returns its messages.
func corpus(t *testing.T, n int, seed int64) []*testcorpus.Message {
	t.Helper()
	var msgs []*testcorpus.Message
	err := testcorpus.Generate(testcorpus.Options{Seed: seed, Count: n, Odd: true}, func(m *testcorpus.Message) error {
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// expected counts what a correct archive holds for msgs: distinct
// messages per folder and overall.
func expected(msgs []*testcorpus.Message) (perFolder map[string]int, unique int, ids map[string]bool) {
	perFolder, ids = map[string]int{}, map[string]bool{}
	seen := map[string]bool{}
	for _, m := range msgs {
		id := m.ID()
		h := hex.EncodeToString(id[:])
		ids[h] = true
		if k := m.Folder + "\x00" + h; !seen[k] {
			seen[k] = true
			perFolder[m.Folder]++
		}
	}
	return perFolder, len(ids), ids
}

func writeMbox(t *testing.T, path string, msgs []*testcorpus.Message) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := mbox.NewWriter(f)
	for _, m := range msgs {
		if _, err := w.WriteMessage("sender@example.org", m.InternalDate, bytes.NewReader(m.Raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func stats(t *testing.T, dir string) archive.Stats {
	t.Helper()
	var s archive.Stats
	if err := json.Unmarshal([]byte(mustRun(t, dir, "stats", "--json").stdout), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestImportMaildirAndMbox imports a generated Maildir++ tree and the same
// messages as an mbox, then checks verify, stats and what Dovecot's
// doveadm reads from the archive's Maildir against the corpus itself.
func TestImportMaildirAndMbox(t *testing.T) {
	msgs := corpus(t, 400, 7)
	src := filepath.Join(t.TempDir(), "src")
	if err := testcorpus.WriteMaildir(src, msgs, testcorpus.MaildirPlusPlus); err != nil {
		t.Fatal(err)
	}
	perFolder, unique, ids := expected(msgs)
	entries := 0
	for _, n := range perFolder {
		entries += n
	}
	dir := filepath.Join(t.TempDir(), "archive")
	r := mustRun(t, dir, "import", "maildir", src, "--account", "home")
	if !strings.Contains(r.stdout, fmt.Sprintf("%d new", unique)) {
		t.Errorf("summary %q does not say %d new", r.stdout, unique)
	}

	// The mbox holds every message once more: all already archived
	// (hard links into another account), none new.
	mboxPath := filepath.Join(t.TempDir(), "all.mbox")
	var withNL []*testcorpus.Message
	for _, m := range msgs {
		if bytes.HasSuffix(m.Raw, []byte("\n")) { // mbox adds a final newline: another message
			withNL = append(withNL, m)
		}
	}
	writeMbox(t, mboxPath, withNL)
	var rep importReport
	r = mustRun(t, dir, "--json", "import", "mbox", mboxPath, "--account", "mbox")
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("import --json: %v\n%s", err, r.stdout)
	}
	if rep.Counts.New != 0 || rep.Counts.Failed != 0 || rep.Status != "ok" {
		t.Errorf("mbox import of archived messages: %+v", rep.Counts)
	}

	mustRun(t, dir, "verify")
	s := stats(t, dir)
	if s.Unique != int64(unique) {
		t.Errorf("unique %d, want %d", s.Unique, unique)
	}
	got := map[string]int{}
	for _, a := range s.Accounts {
		if a.Name != "home" {
			continue
		}
		for _, f := range a.Folders {
			got[f.Name] = int(f.Messages)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(perFolder) {
		t.Errorf("stats per folder\n got %v\nwant %v", got, perFolder)
	}

	// Every corpus message is in the archive under its ID.
	names := map[string]bool{}
	filepath.WalkDir(filepath.Join(dir, "maildir"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "cur" {
			if _, id, _, err := archive.ParseFileName(d.Name()); err == nil {
				names[id.String()] = true
			}
		}
		return nil
	})
	for id := range ids {
		if !names[id] {
			t.Errorf("message %s missing from the archive", id[:12])
		}
	}

	// Dovecot reads the archive's Maildir++ tree as it is.
	dc := dovecottest.FolderCounts(t, filepath.Join(dir, "maildir", "home"))
	if fmt.Sprint(dc) != fmt.Sprint(perFolder) {
		t.Errorf("doveadm folder counts\n got %v\nwant %v", dc, perFolder)
	}
}

// TestKillAndResume kills an mbox import with SIGKILL at random moments,
// reruns it, and compares the end state with an uninterrupted import.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	msgs := corpus(t, 3000, 11)
	var keep []*testcorpus.Message
	for _, m := range msgs {
		if bytes.HasSuffix(m.Raw, []byte("\n")) {
			keep = append(keep, m)
		}
	}
	mboxPath := filepath.Join(t.TempDir(), "big.mbox")
	writeMbox(t, mboxPath, keep)

	clean := filepath.Join(t.TempDir(), "clean")
	var rep importReport
	if err := json.Unmarshal([]byte(mustRun(t, clean, "--json", "import", "mbox", mboxPath).stdout), &rep); err != nil {
		t.Fatal(err)
	}
	want := catalogDump(t, clean)

	killed := filepath.Join(t.TempDir(), "killed")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	kills, midway := 0, 0
	for range 3 {
		cmd := exec.Command(binary, "--archive", killed, "import", "mbox", mboxPath)
		cmd.Env = append(os.Environ(), "MAILARK_BATCH_MESSAGES=100") // many commits to land between
		before := countEntries(t, killed)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		// Kill right after a commit moved this run forward (and before the
		// last one), after a random extra delay: timing alone is unreliable
		// on a loaded machine.
		deadline := time.Now().Add(60 * time.Second)
	wait:
		for time.Now().Before(deadline) {
			if n := countEntries(t, killed); n > before && n < len(want) {
				break
			}
			select {
			case <-done:
				break wait
			case <-time.After(10 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		<-done
		if n := countEntries(t, killed); n > 0 && n < len(want) {
			midway++
		}
	}
	// A kill that landed before the first or after the last commit proves
	// nothing; at least one must have cut the import in the middle.
	if midway == 0 {
		t.Fatalf("no kill landed in the middle of the import (%d kills)", kills)
	}
	// One more kill while the run indexes (after the import phase): the
	// messages are committed, the index lags, and the rerun catches up.
	cmd := exec.Command(binary, "--archive", killed, "reindex")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(rep.IndexSeconds * float64(time.Second) / 3))
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	mustRun(t, killed, "import", "mbox", mboxPath)
	got := catalogDump(t, killed)
	mustRun(t, killed, "verify") // includes index coverage
	if len(got) != len(want) {
		t.Fatalf("after %d kills: %d entries, want %d", kills, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after %d kills: entry %d is %q, want %q", kills, i, got[i], want[i])
		}
	}
	t.Logf("%d kills (%d mid-import), %d entries identical", kills, midway, len(want))
}

// countEntries counts the committed folder entries of an archive (0 when
// there is no archive yet).
func countEntries(t *testing.T, dir string) int {
	t.Helper()
	return catalogCount(dir, `SELECT count(*) FROM entries`)
}

// catalogDump lists (folder, uid, id, flags, date) of every entry, sorted.
func catalogDump(t *testing.T, dir string) []string {
	t.Helper()
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

func TestExitCodes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, dir, "init")

	if r := runCLI(t, dir, "import", "mbox"); r.code != exitUsage {
		t.Errorf("missing argument: exit %d, want %d", r.code, exitUsage)
	}
	if r := runCLI(t, dir, "import", "maildir", "--no-such-flag", "x"); r.code != exitUsage {
		t.Errorf("unknown flag: exit %d, want %d", r.code, exitUsage)
	}
	if r := runCLI(t, dir, "frobnicate"); r.code != exitUsage {
		t.Errorf("unknown command: exit %d, want %d", r.code, exitUsage)
	}

	// One good and one empty .eml: finished, but something failed.
	emls := t.TempDir()
	os.WriteFile(filepath.Join(emls, "good.eml"), []byte("Subject: hi\r\n\r\nhello\r\n"), 0o600)
	os.WriteFile(filepath.Join(emls, "empty.eml"), nil, 0o600)
	r := runCLI(t, dir, "import", "eml", emls)
	if r.code != exitPartial || !strings.Contains(r.stderr, "empty.eml") || !strings.Contains(r.stdout, "1 new") {
		t.Errorf("partial import: exit %d (want %d)\nstdout %s\nstderr %s", r.code, exitPartial, r.stdout, r.stderr)
	}

	// Another process holds the archive.
	a, err := archive.Open(context.Background(), dir, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r = runCLI(t, dir, "import", "eml", emls)
	if r.code != exitLocked || !strings.Contains(r.stderr, fmt.Sprint(os.Getpid())) {
		t.Errorf("locked archive: exit %d (want %d), stderr %q", r.code, exitLocked, r.stderr)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a locked archive made the command wait %v", time.Since(start))
	}
	if r := runCLI(t, dir, "stats"); r.code != 0 {
		t.Errorf("stats while locked: exit %d, want 0 (it only reads)", r.code)
	}
	a.Close()

	// A damaged file makes verify fail.
	var victim string
	filepath.WalkDir(filepath.Join(dir, "maildir"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "cur" {
			victim = p
		}
		return nil
	})
	os.WriteFile(victim, []byte("Subject: hi\r\n\r\nhellO\r\n"), 0o600)
	r = runCLI(t, dir, "verify")
	if r.code != exitFailure || !strings.Contains(r.stdout, "corrupt") {
		t.Errorf("verify of a damaged archive: exit %d, stdout %s", r.code, r.stdout)
	}
	if r := runCLI(t, filepath.Join(t.TempDir(), "none"), "stats"); r.code != exitFailure || !strings.Contains(r.stderr, "mailark init") {
		t.Errorf("stats on no archive: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestDemo(t *testing.T) {
	keep := filepath.Join(t.TempDir(), "demo")
	r := mustRun(t, "/nonexistent", "demo", "--keep", keep)
	if strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, "ok   verify") {
		t.Errorf("demo output:\n%s", r.stdout)
	}
	// The kept archive is a real one.
	mustRun(t, filepath.Join(keep, "archive"), "verify")
}

func TestHelpHasExitStatus(t *testing.T) {
	for _, args := range [][]string{{"import", "mbox"}, {"import", "maildir"}, {"import", "eml"}, {"verify"}, {"stats"}, {"init"}, {"demo"}, {"search"}, {"show"}, {"reindex"},
		{"import"}, {"import", "imap"}, {"import", "pop3"}, {"sync"}, {"export"}, {"export", "imap"}, {"export", "smtp"},
		{"export", "mbox"}, {"export", "eml"}, {"serve"}, {"users"}, {"users", "add"}, {"users", "list"}, {"users", "remove"}} {
		r := mustRun(t, "/nonexistent", append(args, "--help")...)
		if !strings.Contains(r.stdout, "EXIT STATUS") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%v --help lacks EXIT STATUS or an example:\n%s", args, r.stdout)
		}
	}
}
