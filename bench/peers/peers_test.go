// Package peers benchmarks mailark's IMAP and POP3 importers against mbsync
// and mpop (and, run once each when installed, offlineimap, fetchmail and getmail6) on one private Dovecot and one generated corpus.
//
// It is a benchmark, not a test: it is skipped unless MAILARK_BENCH=1.
// MAILARK_BENCH_N sets the number of messages (default 10000),
// MAILARK_BIN measures a given binary instead of building ./cmd/mailark,
// MAILARK_BENCH_OUT also writes the result table to that file.
// See bench/import_peers.sh.
package peers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/testcorpus"
)

// Targets printed next to the results.
const (
	targetRatio  = 1.0 // mailark rate / peer rate
	targetNoop   = 1.0 // seconds
	targetRSSMiB = 150.0
)

// result is one timed run of one tool.
type result struct {
	tool    string
	msgs    int     // messages the tool reports or left on disk
	seconds float64 // wall clock, from GNU time
	rssKiB  int64   // maximum resident set size, from GNU time
	out     []byte  // stdout
}

func (r result) rate(n int) float64 { return float64(n) / r.seconds }

func TestPeers(t *testing.T) {
	if os.Getenv("MAILARK_BENCH") != "1" {
		t.Skip("benchmark: set MAILARK_BENCH=1 (see bench/import_peers.sh)")
	}
	n := 10000
	if v := os.Getenv("MAILARK_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("MAILARK_BENCH_N=%q: want a positive number", v)
		}
	}
	timeBin := need(t, "/usr/bin/time")
	mbsync := need(t, "mbsync")
	mpop := need(t, "mpop")

	work := t.TempDir()
	bin := os.Getenv("MAILARK_BIN")
	if bin == "" {
		bin = filepath.Join(work, "mailark")
		t0 := time.Now()
		run(t, "../..", "go", "build", "-o", bin, "./cmd/mailark")
		t.Logf("built mailark in %.1fs", time.Since(t0).Seconds())
	}

	// Corpus: every message into alice's folders (IMAP) and also into bob's
	// INBOX (POP3 sees only the INBOX).
	srv := dovecottest.Start(t, dovecottest.Options{})
	t0 := time.Now()
	byFolder := map[string][]dovecottest.Message{}
	var folders []string
	var all []dovecottest.Message
	var totalBytes int64
	err := testcorpus.Generate(testcorpus.Options{Seed: 1, Count: n}, func(m *testcorpus.Message) error {
		dm := dovecottest.Message{Raw: m.Raw, Flags: m.Flags, InternalDate: m.InternalDate}
		if _, ok := byFolder[m.Folder]; !ok {
			folders = append(folders, m.Folder)
		}
		byFolder[m.Folder] = append(byFolder[m.Folder], dm)
		all = append(all, dm)
		totalBytes += int64(len(m.Raw))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range folders {
		srv.FillBulk(t, "alice", f, byFolder[f])
	}
	srv.FillBulk(t, "bob", "INBOX", all)
	byFolder, all = nil, nil
	// Let Dovecot build its indexes and cache sizes before anything is timed,
	// so that the first tool does not pay for it.
	srv.Doveadm(t, "mailbox", "status", "-u", "alice", "messages vsize", "*")
	srv.Doveadm(t, "mailbox", "status", "-u", "bob", "messages vsize", "INBOX")
	mb := float64(totalBytes) / 1e6
	t.Logf("corpus: %d messages, %.1f MB, %d folders; filled and indexed in %.1fs",
		n, mb, len(folders), time.Since(t0).Seconds())

	pwFile := filepath.Join(work, "password")
	if err := os.WriteFile(pwFile, []byte(srv.Password("alice")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if srv.Password("bob") != srv.Password("alice") {
		t.Fatal("alice and bob have different passwords; the password file assumes one")
	}
	imapHost, imapPort := splitAddr(t, srv.IMAPAddr)
	popHost, popPort := splitAddr(t, srv.POP3Addr)

	seq := 0
	fresh := func(name string) string {
		seq++
		d := filepath.Join(work, fmt.Sprintf("%02d-%s", seq, name))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	mailarkIMAP := func(archive string, noIndex bool) result {
		args := []string{bin, "--archive", archive, "--json", "import"}
		if noIndex {
			args = append(args, "--no-index")
		}
		args = append(args, "imap", "--host", imapHost, "--port", imapPort, "--tls", "none",
			"--user", "alice", "--password-file", pwFile, "--connections", "3")
		return mailarkRun(t, timeBin, "mailark imap", args)
	}
	mailarkPOP3 := func(archive string) result {
		return mailarkRun(t, timeBin, "mailark pop3", []string{bin, "--archive", archive, "--json", "import", "--no-index",
			"pop3", "--host", popHost, "--port", popPort, "--tls", "none",
			"--user", "bob", "--password-file", pwFile})
	}
	runMbsync := func() result {
		d := fresh("mbsync")
		conf := filepath.Join(d, "mbsyncrc")
		mail := filepath.Join(d, "mail")
		if err := os.MkdirAll(mail, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, conf, fmt.Sprintf(`IMAPAccount bench
Host %s
Port %s
User alice
PassCmd "cat %s"
SSLType None
AuthMechs LOGIN PLAIN

IMAPStore bench-far
Account bench

MaildirStore bench-near
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel bench
Far :bench-far:
Near :bench-near:
Patterns *
Create Near
Sync Pull
SyncState *
Expunge None
`, imapHost, imapPort, pwFile, mail, mail))
		r := timed(t, timeBin, "mbsync", mbsync, "-c", conf, "-a", "-q")
		r.msgs = countMaildir(t, mail)
		return r
	}
	runMpop := func() result {
		d := fresh("mpop")
		conf := filepath.Join(d, "mpoprc")
		mail := filepath.Join(d, "mail")
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(mail, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		writeFile(t, conf, fmt.Sprintf(`defaults
tls off
account bench
host %s
port %s
user bob
password %s
auth user
delivery maildir %s
keep on
only_new off
uidls_file %s/uidls
`, popHost, popPort, srv.Password("bob"), mail, d))
		if err := os.Chmod(conf, 0o600); err != nil {
			t.Fatal(err)
		}
		r := timed(t, timeBin, "mpop", mpop, "-C", conf, "-q", "-a")
		r.msgs = countMaildir(t, mail)
		return r
	}

	// The slower peers run once each, when installed: offlineimap (IMAP)
	// and fetchmail (POP3, delivering through a tmp/-then-rename MDA).
	runOfflineIMAP := func(bin string) result {
		d := fresh("offlineimap")
		conf := filepath.Join(d, "offlineimaprc")
		mail := filepath.Join(d, "mail")
		writeFile(t, conf, fmt.Sprintf(`[general]
accounts = bench
metadata = %s/state
ui = quiet

[Account bench]
localrepository = local
remoterepository = remote
utf8foldernames = yes

[Repository local]
type = Maildir
localfolders = %s
sep = /

[Repository remote]
type = IMAP
remotehost = %s
remoteport = %s
remoteuser = alice
remotepass = %s
ssl = no
starttls = no
readonly = True
`, d, mail, imapHost, imapPort, srv.Password("alice")))
		r := timed(t, timeBin, "offlineimap", bin, "-c", conf, "-o", "-u", "quiet")
		r.msgs = countMaildir(t, mail)
		return r
	}
	runFetchmail := func(bin string) result {
		d := fresh("fetchmail")
		mail := filepath.Join(d, "mail")
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(mail, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		mda := filepath.Join(d, "mda.sh")
		writeFile(t, mda, fmt.Sprintf(`#!/bin/sh
set -e
f=$(mktemp %s/tmp/fetchmail.XXXXXXXXXX)
cat > "$f"
mv "$f" %s/new/
`, mail, mail))
		if err := os.Chmod(mda, 0o755); err != nil {
			t.Fatal(err)
		}
		rc := filepath.Join(d, "fetchmailrc")
		writeFile(t, rc, fmt.Sprintf(`set no syslog
set no bouncemail
poll %s service %s protocol POP3 auth password timeout 300
  user "bob" there with password "%s"
  keep fetchall no rewrite
  sslproto ''
  mda "%s"
`, popHost, popPort, srv.Password("bob"), mda))
		if err := os.Chmod(rc, 0o600); err != nil {
			t.Fatal(err)
		}
		r := timed(t, timeBin, "fetchmail", "env", "HOME="+d, bin, "-f", rc, "--nodetach", "--pidfile", filepath.Join(d, "pid"), "--idfile", filepath.Join(d, "ids"), "-s")
		r.msgs = countMaildir(t, mail)
		return r
	}
	// getmail6 refuses to deliver as root: it runs as the unprivileged user
	// the Dovecot harness uses, in a directory that user owns.
	runGetmail := func(bin string) result {
		d, err := os.MkdirTemp("", "mailark-getmail-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(d)
		mail := filepath.Join(d, "mail")
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(mail, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		rc := filepath.Join(d, "getmailrc")
		writeFile(t, rc, fmt.Sprintf(`[retriever]
type = SimplePOP3Retriever
server = %s
port = %s
username = bob
password = %s

[destination]
type = Maildir
path = %s/

[options]
read_all = true
delete = false
delivered_to = false
received = false
verbose = 0
`, popHost, popPort, srv.Password("bob"), mail))
		if err := os.MkdirAll(filepath.Join(d, "state"), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", "-R", dovecottest.DefaultMailUser, d).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
		os.Chmod(d, 0o755)
		r := timed(t, timeBin, "getmail6", "runuser", "-u", dovecottest.DefaultMailUser, "--", bin,
			"--rcfile="+rc, "--getmaildir="+filepath.Join(d, "state"), "--quiet")
		r.msgs = countMaildir(t, mail)
		return r
	}
	var slow []result
	if bin, err := exec.LookPath("getmail"); err == nil && os.Getuid() == 0 {
		if _, err := exec.Command("id", dovecottest.DefaultMailUser).Output(); err == nil {
			slow = append(slow, runGetmail(bin))
		}
	}
	if bin, err := exec.LookPath("offlineimap"); err == nil {
		slow = append(slow, runOfflineIMAP(bin))
	}
	if bin, err := exec.LookPath("fetchmail"); err == nil {
		slow = append(slow, runFetchmail(bin))
	}

	// IMAP: mailark, mbsync, mailark, mbsync.
	var mi, ms []result
	var lastIMAP string
	for i := 0; i < 2; i++ {
		lastIMAP = fresh("mailark-imap")
		mi = append(mi, mailarkIMAP(lastIMAP, true))
		ms = append(ms, runMbsync())
	}
	noopIMAP := mailarkIMAP(lastIMAP, true)
	if newOf(t, noopIMAP.out) != 0 {
		t.Errorf("IMAP no-op rerun: %s", noopIMAP.out)
	}
	verify(t, bin, lastIMAP, false)
	idxDir := fresh("mailark-imap-indexed")
	indexed := mailarkIMAP(idxDir, false)
	verify(t, bin, idxDir, true)

	// POP3: mailark, mpop, mailark, mpop.
	var mp, mq []result
	var lastPOP string
	for i := 0; i < 2; i++ {
		lastPOP = fresh("mailark-pop3")
		mp = append(mp, mailarkPOP3(lastPOP))
		mq = append(mq, runMpop())
	}
	noopPOP := mailarkPOP3(lastPOP)
	if newOf(t, noopPOP.out) != 0 {
		t.Errorf("POP3 no-op rerun: %s", noopPOP.out)
	}
	verify(t, bin, lastPOP, false)

	for _, r := range [][]result{mi, ms, mp, mq, {indexed}, slow} {
		for _, x := range r {
			if x.msgs != n {
				t.Errorf("%s: %d messages, want %d", x.tool, x.msgs, n)
			}
		}
	}

	// Table.
	bi, bs, bp, bq := best(mi), best(ms), best(mp), best(mq)
	var b strings.Builder
	fmt.Fprintf(&b, "corpus: %d messages, %.1f MB (testcorpus seed 1), private Dovecot on loopback, plaintext; best of 2 alternating runs\n\n", n, mb)
	fmt.Fprintf(&b, "| tool | messages | seconds | msg/s | MB/s | peak RSS MB | runs (s) |\n|---|---:|---:|---:|---:|---:|---|\n")
	row := func(label string, r result, runs []result) {
		var rs []string
		for _, x := range runs {
			rs = append(rs, fmt.Sprintf("%.2f", x.seconds))
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.0f | %.1f | %.0f | %s |\n",
			label, r.msgs, r.seconds, r.rate(n), mb/r.seconds, float64(r.rssKiB)/1024, strings.Join(rs, ", "))
	}
	row("mailark import imap --no-index", bi, mi)
	row("mbsync "+version(mbsync, "-v"), bs, ms)
	row("mailark import imap (with indexing)", indexed, []result{indexed})
	noopRow := func(label string, r result) {
		fmt.Fprintf(&b, "| %s | %d new | %.2f | – | – | %.0f | |\n", label, newOf(t, r.out), r.seconds, float64(r.rssKiB)/1024)
	}
	noopRow("mailark import imap, no-op rerun", noopIMAP)
	row("mailark import pop3 --no-index", bp, mp)
	row("mpop "+version(mpop, "--version"), bq, mq)
	noopRow("mailark import pop3, no-op rerun", noopPOP)
	for _, r := range slow {
		row(r.tool+" (one run)", r, []result{r})
	}
	rss := max(bi.rssKiB, bp.rssKiB, indexed.rssKiB, noopIMAP.rssKiB, noopPOP.rssKiB)
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	ri, rp := bs.seconds/bi.seconds, bq.seconds/bp.seconds
	fmt.Fprintf(&b, "\n| check | measured | target | |\n|---|---:|---:|---|\n")
	fmt.Fprintf(&b, "| IMAP: mailark / mbsync rate | %.2f× | ≥ %.1f× | %s |\n", ri, targetRatio, check(ri >= targetRatio))
	fmt.Fprintf(&b, "| POP3: mailark / mpop rate | %.2f× | ≥ %.1f× | %s |\n", rp, targetRatio, check(rp >= targetRatio))
	noop := max(noopIMAP.seconds, noopPOP.seconds)
	fmt.Fprintf(&b, "| no-op rerun (IMAP %.2fs, POP3 %.2fs) | %.2f s | < %.0f s | %s |\n",
		noopIMAP.seconds, noopPOP.seconds, noop, targetNoop, check(noop < targetNoop))
	fmt.Fprintf(&b, "| mailark peak RSS (all runs) | %.0f MB | ≤ %.0f MB | %s |\n",
		float64(rss)/1024, targetRSSMiB, check(float64(rss)/1024 <= targetRSSMiB))
	fmt.Fprintf(&b, "\nverify: clean on the indexed IMAP archive; on the --no-index IMAP and POP3 archives clean but for \"no search index\"\n")

	fmt.Printf("\n=== peers table ===\n%s=== end ===\n", b.String())
	if out := os.Getenv("MAILARK_BENCH_OUT"); out != "" {
		writeFile(t, out, b.String())
	}
}

func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (apt-get install isync mpop time)", name)
	}
	return p
}

func splitAddr(t *testing.T, addr string) (host, port string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[:i], addr[i+1:]
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// verify runs mailark verify on archive. An archive imported with
// --no-index has no search index, which verify reports as its one problem.
func verify(t *testing.T, bin, archive string, indexed bool) {
	t.Helper()
	out, err := exec.Command(bin, "--archive", archive, "verify").CombinedOutput()
	if err == nil {
		return
	}
	if !indexed && bytes.Contains(out, []byte("no search index")) && bytes.Contains(out, []byte(": 1 problems")) {
		return
	}
	t.Errorf("mailark verify %s: %v\n%s", archive, err, tail(out))
}

// timed runs argv under GNU time -v and returns wall clock and peak RSS.
func timed(t *testing.T, timeBin, tool string, argv ...string) result {
	t.Helper()
	tf, err := os.CreateTemp("", "peers-time-*")
	if err != nil {
		t.Fatal(err)
	}
	tf.Close()
	defer os.Remove(tf.Name())
	cmd := exec.Command(timeBin, append([]string{"-v", "-o", tf.Name()}, argv...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", strings.Join(argv, " "), err, tail(stdout.Bytes()), tail(stderr.Bytes()))
	}
	r := result{tool: tool, out: stdout.Bytes(), seconds: -1, rssKiB: -1}
	f, err := os.Open(tf.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "): ")
		if !ok {
			k, v, ok = strings.Cut(line, ": ")
		}
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(k, "Elapsed (wall clock) time"):
			r.seconds = parseClock(t, v)
		case strings.HasPrefix(k, "Maximum resident set size"):
			r.rssKiB, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if r.seconds < 0 || r.rssKiB < 0 {
		t.Fatalf("%s: no Elapsed or Maximum resident set size in GNU time's output", tool)
	}
	t.Logf("%-13s %6.2fs  %4.0f MB RSS", tool, r.seconds, float64(r.rssKiB)/1024)
	return r
}

// parseClock parses GNU time's [h:]mm:ss.ss.
func parseClock(t *testing.T, s string) float64 {
	t.Helper()
	var sec float64
	for _, p := range strings.Split(strings.TrimSpace(s), ":") {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			t.Fatalf("elapsed time %q: %v", s, err)
		}
		sec = sec*60 + f
	}
	return sec
}

type importJSON struct {
	Status  string  `json:"status"`
	Seconds float64 `json:"seconds"`
	Counts  struct {
		New      int `json:"new"`
		Linked   int `json:"linked"`
		Existing int `json:"existing"`
		Failed   int `json:"failed"`
	} `json:"counts"`
}

func parseReport(t *testing.T, out []byte) importJSON {
	t.Helper()
	var rep importJSON
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("mailark --json output: %v\n%s", err, tail(out))
	}
	return rep
}

func mailarkRun(t *testing.T, timeBin, tool string, argv []string) result {
	t.Helper()
	r := timed(t, timeBin, tool, argv...)
	rep := parseReport(t, r.out)
	if rep.Counts.Failed != 0 || rep.Status != "ok" && rep.Status != "success" && rep.Status != "" {
		t.Errorf("%s: status %q, %d failed", tool, rep.Status, rep.Counts.Failed)
	}
	r.msgs = rep.Counts.New + rep.Counts.Linked + rep.Counts.Existing
	t.Logf("%-13s   new %d linked %d existing %d, import %.2fs", "", rep.Counts.New, rep.Counts.Linked, rep.Counts.Existing, rep.Seconds)
	return r
}

func newOf(t *testing.T, out []byte) int {
	rep := parseReport(t, out)
	return rep.Counts.New + rep.Counts.Linked
}

// countMaildir counts message files in the cur/ and new/ directories under root.
func countMaildir(t *testing.T, root string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			if b := filepath.Base(filepath.Dir(p)); b == "cur" || b == "new" {
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func best(rs []result) result {
	s := append([]result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].seconds < s[j].seconds })
	return s[0]
}

func version(bin, flag string) string {
	out, _ := exec.Command(bin, flag).CombinedOutput()
	f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
