package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/hostile"
	"github.com/mailark/mailark/mbox"
)

// Limits every child process must keep on hostile input.
const (
	hostileTimeout = 2 * time.Minute // a hang is a failure, but the machine is loaded
	hostileMaxRSS  = 150 << 10       // KiB (Maxrss unit on Linux): 150 MiB
)

// hostileMsg is one message a case must put into the archive.
type hostileMsg struct {
	path string // the whole file is the message (eml), or
	data []byte // these bytes are (mbox)
	id   archive.ID
	size int64 // bytes as stored
}

func (m *hostileMsg) open() (io.ReadCloser, error) {
	if m.path != "" {
		return os.Open(m.path)
	}
	return io.NopCloser(bytes.NewReader(m.data)), nil
}

// finalNL reports whether the message ends with a line feed.
func (m *hostileMsg) finalNL(t *testing.T) bool {
	r, err := m.open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if f, ok := r.(*os.File); ok {
		b := make([]byte, 1)
		if _, err := f.ReadAt(b, m.size-1); err != nil {
			t.Fatal(err)
		}
		return b[0] == '\n'
	}
	return bytes.HasSuffix(m.data, []byte("\n"))
}

type hostileCase struct {
	hostile.Case
	path   string // the input file
	folder string // where the import puts it
	msgs   []*hostileMsg
}

// TestHostileCorpus runs every command on every case of the hostile
// corpus (testdata/hostile, plus the big cases written now): import, the
// bytes archived unchanged, indexing, search, show, export mbox and eml,
// and FETCH through serve. Every process must finish within
// hostileTimeout, stay under hostileMaxRSS and never crash.
func TestHostileCorpus(t *testing.T) {
	cases := loadHostileCases(t)
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, dir, "init")
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) { checkHostileCase(t, dir, c) })
	}
	t.Run("serve", func(t *testing.T) { checkHostileServe(t, dir, cases) })
	mustRun(t, dir, "verify")
}

func loadHostileCases(t *testing.T) []*hostileCase {
	t.Helper()
	small := filepath.Join("..", "..", "testdata", "hostile")
	all := hostile.Cases(false)
	dirs := make([]string, len(all))
	for i := range dirs {
		dirs[i] = small
	}
	if !testing.Short() {
		// Generated once per run; they are never committed.
		bigDir := t.TempDir()
		big, err := hostile.Write(bigDir, true)
		if err != nil {
			t.Fatal(err)
		}
		for range big {
			dirs = append(dirs, bigDir)
		}
		all = append(all, big...)
	}
	var out []*hostileCase
	for i, c := range all {
		hc := &hostileCase{Case: c, path: filepath.Join(dirs[i], c.File), folder: strings.ReplaceAll(c.File, ".", "-")}
		if c.Format == hostile.EML {
			hc.msgs = []*hostileMsg{{path: hc.path}}
		} else {
			for _, m := range c.Messages {
				hc.msgs = append(hc.msgs, &hostileMsg{data: m})
			}
		}
		for _, m := range hc.msgs {
			r, err := m.open()
			if err != nil {
				t.Fatal(err)
			}
			h := archive.NewHasher()
			n, err := io.Copy(h, r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			m.id, m.size = h.Sum(), n
		}
		out = append(out, hc)
	}
	return out
}

// proc is what a child process did.
type proc struct {
	code           int
	stdout, stderr string // stdout: at most its first MiB
}

// runHostile runs mailark with a timeout, fails the test on a hang, a
// crash (signal or Go panic) or a peak RSS over hostileMaxRSS, and returns
// the exit code. stdout also goes to out when it is not nil.
func runHostile(t *testing.T, dir string, out io.Writer, args ...string) proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--archive", dir}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	o, e := &capped{max: 1 << 20}, &capped{max: 1 << 20}
	cmd.Stdout, cmd.Stderr = o, e
	if out != nil {
		cmd.Stdout = io.MultiWriter(o, out)
	}
	start := time.Now()
	err := cmd.Run()
	p := proc{code: cmd.ProcessState.ExitCode(), stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running mailark %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Errorf("mailark %v: no exit after %v (hang)", args, hostileTimeout)
	} else if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() {
		t.Errorf("mailark %v: killed by %v\nstderr: %s", args, ws.Signal(), p.stderr)
	}
	if isPanic(p.stderr) {
		t.Errorf("mailark %v crashed (exit %d):\n%s", args, p.code, p.stderr)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	if rss > hostileMaxRSS {
		t.Errorf("mailark %v: peak RSS %d MiB, limit %d MiB", args, rss>>10, hostileMaxRSS>>10)
	}
	t.Logf("mailark %s: exit %d in %v, peak RSS %d MiB", strings.Join(args, " "), p.code, time.Since(start).Round(time.Millisecond), rss>>10)
	return p
}

func isPanic(stderr string) bool {
	return strings.Contains(stderr, "panic: ") || strings.Contains(stderr, "fatal error: ") || strings.Contains(stderr, "goroutine ")
}

// wantOK fails unless p exited 0.
func wantOK(t *testing.T, p proc, what string) bool {
	t.Helper()
	if p.code != 0 {
		t.Errorf("%s: exit %d\nstdout: %.2000s\nstderr: %.2000s", what, p.code, p.stdout, p.stderr)
		return false
	}
	return true
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// streamCmp compares what is written to it with r, in constant memory.
type streamCmp struct {
	r    io.Reader
	n    int64
	diff int64 // offset of the first difference, -1 if none
	buf  []byte
}

func newStreamCmp(r io.Reader) *streamCmp { return &streamCmp{r: r, diff: -1} }

func (s *streamCmp) Write(p []byte) (int, error) {
	if s.diff >= 0 {
		return len(p), nil
	}
	if cap(s.buf) < len(p) {
		s.buf = make([]byte, len(p))
	}
	b := s.buf[:len(p)]
	k, _ := io.ReadFull(s.r, b)
	for i := range p {
		if i >= k || p[i] != b[i] {
			s.diff = s.n + int64(i)
			return len(p), nil
		}
	}
	s.n += int64(len(p))
	return len(p), nil
}

// equal reports whether everything of r was written, and nothing else.
func (s *streamCmp) equal() bool {
	if s.diff >= 0 {
		return false
	}
	var one [1]byte
	k, _ := s.r.Read(one[:])
	return k == 0
}

// archivedPath finds the file of id in folder of the hostile account.
func archivedPath(t *testing.T, dir, folder string, id archive.ID) string {
	t.Helper()
	cur := filepath.Join(dir, "maildir", "hostile", "."+folder, "cur")
	ents, err := os.ReadDir(cur)
	if err != nil {
		t.Fatalf("reading the archived folder: %v", err)
	}
	for _, e := range ents {
		if _, got, _, err := archive.ParseFileName(e.Name()); err == nil && got == id {
			return filepath.Join(cur, e.Name())
		}
	}
	return ""
}

func sameAsFile(t *testing.T, path string, r io.Reader) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := newStreamCmp(r)
	if _, err := io.Copy(c, f); err != nil {
		t.Fatal(err)
	}
	return c.equal()
}

func checkHostileCase(t *testing.T, dir string, c *hostileCase) {
	args := []string{"import", "eml", c.path}
	if c.Format != hostile.EML {
		args = []string{"import", "mbox", c.path, "--format", string(c.Format)}
	}
	args = append(args, "--account", "hostile", "--folder", c.folder)
	p := runHostile(t, dir, nil, args...)
	if p.code == exitPartial && strings.TrimSpace(p.stderr) == "" {
		t.Errorf("import: exit 3 without saying why")
	}
	if !wantOK(t, p, "import") {
		return
	}

	// The bytes are archived unchanged.
	paths := make([]string, len(c.msgs))
	for i, m := range c.msgs {
		paths[i] = archivedPath(t, dir, c.folder, m.id)
		if paths[i] == "" {
			t.Fatalf("message %d (%s) is not in the archive", i+1, m.id.Short())
		}
		r, err := m.open()
		if err != nil {
			t.Fatal(err)
		}
		same := sameAsFile(t, paths[i], r)
		r.Close()
		if !same {
			t.Errorf("message %d: the archived bytes differ from the input", i+1)
		}
	}
	first := c.msgs[0]

	// Indexed, and found by its word; an odd query does not crash.
	p = runHostile(t, dir, nil, "--json", "search", "--limit", "100", c.Word)
	if wantOK(t, p, "search") {
		var hits []struct{ ID string }
		if err := json.Unmarshal([]byte(p.stdout), &hits); err != nil {
			t.Errorf("search --json: %v: %q", err, p.stdout)
		}
		found := false
		for _, h := range hits {
			found = found || h.ID == first.id.String()
		}
		if !found {
			t.Errorf("search %s did not find the message: %s", c.Word, p.stdout)
		}
	}
	// No phrase of words the corpus repeats: see TestHostilePhraseSearch.
	p = runHostile(t, dir, nil, "search", "--limit", "1000", "--", `((zq* OR "from lines") -is:flagged) OR filename:bin OR size:>1k OR from:example.org OR NOT date:2024..2025`)
	wantOK(t, p, "search with an odd query")

	for i, m := range c.msgs {
		id := m.id.String()[:16]
		p = runHostile(t, dir, nil, "show", id)
		if wantOK(t, p, "show") && i == 0 && !strings.Contains(strings.ToLower(p.stdout), c.Word) {
			t.Errorf("show does not print %q:\n%.2000s", c.Word, p.stdout)
		}
		wantOK(t, runHostile(t, dir, nil, "show", "--text", id), "show --text")
		// --headers prints the header as it is: a prefix of the message.
		f, err := os.Open(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		cmp := newStreamCmp(f)
		p = runHostile(t, dir, cmp, "show", "--headers", id)
		f.Close()
		if wantOK(t, p, "show --headers") && cmp.diff >= 0 {
			t.Errorf("show --headers: byte %d differs from the archived header", cmp.diff)
		}
		f, err = os.Open(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		cmp = newStreamCmp(f)
		p = runHostile(t, dir, cmp, "show", "--raw", id)
		f.Close()
		if wantOK(t, p, "show --raw") && !cmp.equal() {
			t.Errorf("show --raw differs from the archived bytes (at byte %d)", cmp.diff)
		}
	}

	checkHostileExports(t, dir, c, paths)
}

// checkHostileExports exports the case's folder as mbox and as .eml files
// and checks what was written against the archive.
func checkHostileExports(t *testing.T, dir string, c *hostileCase, paths []string) {
	out := t.TempDir()
	mboxPath := filepath.Join(out, "out.mbox")
	p := runHostile(t, dir, nil, "export", "mbox", mboxPath, "--folder", c.folder)
	if p.code == exitPartial && strings.TrimSpace(p.stderr) == "" {
		t.Errorf("export mbox: exit 3 without saying why")
	}
	if p.code == 0 || p.code == exitPartial {
		// Read back, every message has its ID; mbox adds a final newline
		// to a message without one (documented), which changes the ID.
		want := map[archive.ID]bool{}
		for _, m := range c.msgs {
			id := m.id
			if !m.finalNL(t) {
				r, _ := m.open()
				h := archive.NewHasher()
				io.Copy(h, r)
				r.Close()
				h.Write([]byte("\n"))
				id = h.Sum()
			}
			want[id] = true
		}
		f, err := os.Open(mboxPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rd := mbox.NewReader(bufio.NewReader(f), mbox.ReaderOptions{})
		got := map[archive.ID]bool{}
		for {
			m, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reading the exported mbox: %v", err)
			}
			h := archive.NewHasher()
			if _, err := io.Copy(h, m.Body); err != nil {
				t.Fatal(err)
			}
			got[h.Sum()] = true
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("export mbox read back: %d messages %v, want %d %v", len(got), got, len(want), want)
		}
	} else {
		wantOK(t, p, "export mbox")
	}

	emlDir := filepath.Join(out, "eml")
	p = runHostile(t, dir, nil, "export", "eml", emlDir, "--folder", c.folder)
	if !wantOK(t, p, "export eml") {
		return
	}
	for i, m := range c.msgs {
		files, _ := filepath.Glob(filepath.Join(emlDir, "*", "*-"+m.id.String()+".eml"))
		if len(files) != 1 {
			t.Errorf("export eml: message %d written %d times", i+1, len(files))
			continue
		}
		f, err := os.Open(files[0])
		if err != nil {
			t.Fatal(err)
		}
		same := sameAsFile(t, paths[i], f)
		f.Close()
		if !same {
			t.Errorf("export eml: message %d differs from the archived bytes", i+1)
		}
	}
}

// checkHostileServe serves the archive and fetches BODY[], BODYSTRUCTURE
// and ENVELOPE of every case's messages through an IMAP client.
func checkHostileServe(t *testing.T, dir string, cases []*hostileCase) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("hostile pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "users", "add", "h", "--accounts", "hostile", "--password-file", pw)

	ctx, cancel := context.WithTimeout(context.Background(), hostileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--archive", dir, "serve", "--listen", "127.0.0.1:0")
	cmd.WaitDelay = 5 * time.Second
	addr, br := serveAddr(t, cmd)
	var logs capped
	logs.max = 1 << 20
	logDone := make(chan struct{})
	go func() { io.Copy(&logs, br); close(logDone) }()

	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("h", "hostile pw").Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	for _, hc := range cases {
		fetchHostile(t, c, hc)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Errorf("logout: %v", err)
	}

	// The server's peak RSS counts the fetches: stop it and read it.
	cmd.Process.Signal(syscall.SIGTERM)
	<-logDone
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("serve did not stop within %v", hostileTimeout)
	}
	if err != nil || isPanic(logs.String()) {
		t.Errorf("serve: %v\n%s", err, logs.String())
	}
	if rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss; rss > hostileMaxRSS {
		t.Errorf("serve: peak RSS %d MiB, limit %d MiB", rss>>10, hostileMaxRSS>>10)
	} else {
		t.Logf("serve: peak RSS %d MiB", rss>>10)
	}
}

func fetchHostile(t *testing.T, c *imapclient.Client, hc *hostileCase) {
	t.Helper()
	sel, err := c.Select(hc.folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("%s: select: %v", hc.File, err)
	}
	if int(sel.NumMessages) != len(hc.msgs) {
		t.Errorf("%s: %d messages in the folder, want %d", hc.File, sel.NumMessages, len(hc.msgs))
	}
	want := map[archive.ID]bool{}
	for _, m := range hc.msgs {
		want[m.id] = true
	}
	var all imap.UIDSet
	all.AddRange(1, 0)
	fc := c.Fetch(all, &imap.FetchOptions{
		UID: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	for msg := fc.Next(); msg != nil; msg = fc.Next() {
		var env, bs bool
		var sum archive.ID
		var body bool
		for it := msg.Next(); it != nil; it = msg.Next() {
			switch x := it.(type) {
			case imapclient.FetchItemDataEnvelope:
				env = x.Envelope != nil
			case imapclient.FetchItemDataBodyStructure:
				bs = x.BodyStructure != nil
			case imapclient.FetchItemDataBodySection:
				// The server sends the archived bytes with line ends made
				// CRLF: the plain SHA-256 of BODY[] is then the message ID.
				h := sha256.New()
				if x.Literal != nil {
					if _, err := io.Copy(h, x.Literal); err != nil {
						t.Errorf("%s: reading BODY[]: %v", hc.File, err)
					}
				}
				h.Sum(sum[:0])
				body = true
			}
		}
		if !env || !bs || !body {
			t.Errorf("%s: message %d: envelope %v, bodystructure %v, body %v", hc.File, msg.SeqNum, env, bs, body)
		}
		if body && !want[sum] {
			t.Errorf("%s: message %d: BODY[] is not the archived message", hc.File, msg.SeqNum)
		}
		delete(want, sum)
	}
	if err := fc.Close(); err != nil {
		t.Errorf("%s: fetch: %v", hc.File, err)
	}
	if len(want) > 0 {
		t.Errorf("%s: %d messages not fetched", hc.File, len(want))
	}
}

// TestHostilePhraseSearch: a phrase whose words a message repeats many
// times (long-line.eml: 1 MiB of "alpha beta gamma delta epsilon") cost
// Bleve's phrase matching time that grows with the product of the words'
// occurrences in the document (findPhrasePaths): 40 s for this search
// before the index kept at most maxTermPositions (search/capfilter.go)
// occurrences per term and field; the process timeout of runHostile
// catches a regression. The phrase is still found.
func TestHostilePhraseSearch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	wantOK(t, runHostile(t, dir, nil, "import", "eml", filepath.Join("..", "..", "testdata", "hostile", "long-line.eml")), "import")
	p := runHostile(t, dir, nil, "--json", "search", `"alpha beta gamma"`)
	if wantOK(t, p, "phrase search") {
		var hits []map[string]any
		if err := json.Unmarshal([]byte(p.stdout), &hits); err != nil || len(hits) != 1 {
			t.Errorf("phrase search: %d hits (%v), want the one message:\n%.500s", len(hits), err, p.stdout)
		}
	}
}
