package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

func msg(subject, msgid, body string) []byte {
	return []byte(fmt.Sprintf("From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\n%s\r\n", subject, msgid, body))
}

func deliver(t *testing.T, w *Writer, raw []byte, m Meta) Result {
	t.Helper()
	if m.Account == "" {
		m.Account = "acct"
	}
	res, err := w.Deliver(context.Background(), bytes.NewReader(raw), m)
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	return res
}

func commit(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Commit(context.Background()); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func newWriter(t *testing.T, a *Archive) *Writer {
	t.Helper()
	w, err := a.NewWriter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// filesOf lists the message files of one folder's cur/.
func filesOf(t *testing.T, a *Archive, account, folder string) []string {
	t.Helper()
	dir, err := FolderDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(a.MaildirRoot(), account, dir, "cur"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(a.MaildirRoot(), account, dir, "cur", e.Name()))
	}
	return out
}

func TestDeliverSameBytesTwoFoldersIsOneInode(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	raw := msg("hello", "1@x", "body")
	r1 := deliver(t, w, raw, Meta{Folder: "INBOX", Flags: []string{`\Seen`}})
	r2 := deliver(t, w, raw, Meta{Folder: "Archive/2019"})
	commit(t, w)
	if r1.Status != StatusNew || r2.Status != StatusLinked || r1.ID != r2.ID {
		t.Fatalf("statuses %v %v, ids equal %v", r1.Status, r2.Status, r1.ID == r2.ID)
	}
	f1, f2 := filesOf(t, a, "acct", "INBOX"), filesOf(t, a, "acct", "Archive/2019")
	if len(f1) != 1 || len(f2) != 1 {
		t.Fatalf("files: %v %v", f1, f2)
	}
	s1, _ := os.Stat(f1[0])
	s2, _ := os.Stat(f2[0])
	if !os.SameFile(s1, s2) {
		t.Error("the two copies are not the same inode")
	}
	if n := s1.Sys().(*syscall.Stat_t).Nlink; n != 2 {
		t.Errorf("link count %d, want 2", n)
	}
	if !strings.HasSuffix(f1[0], ":2,S") || !strings.HasSuffix(f2[0], ":2,") {
		t.Errorf("flags not in names: %s %s", f1[0], f2[0])
	}
	st, err := a.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 2 || st.Unique != 1 || st.BytesStored != int64(len(raw)) || st.BytesReceived != 2*int64(len(raw)) {
		t.Errorf("stats %+v", st)
	}
	TestVerify(t, a)
}

func TestDeliverSameBytesSameFolderIsOneFile(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	raw := msg("hello", "1@x", "body")
	r1 := deliver(t, w, raw, Meta{})
	r2 := deliver(t, w, raw, Meta{}) // same batch
	commit(t, w)
	r3 := deliver(t, w, raw, Meta{}) // a later batch
	commit(t, w)
	if r1.Status != StatusNew || r2.Status != StatusExists || r3.Status != StatusExists {
		t.Fatalf("statuses %v %v %v", r1.Status, r2.Status, r3.Status)
	}
	if r2.UID != r1.UID || r3.UID != r1.UID {
		t.Errorf("uids %d %d %d: a duplicate got a new uid", r1.UID, r2.UID, r3.UID)
	}
	if f := filesOf(t, a, "acct", "INBOX"); len(f) != 1 {
		t.Fatalf("files %v", f)
	}
	// no file left in tmp/
	if ents, _ := os.ReadDir(filepath.Join(a.MaildirRoot(), "acct", "tmp")); len(ents) != 0 {
		t.Errorf("tmp/ not empty: %v", ents)
	}
	TestVerify(t, a)
}

func TestDeliverCRLFAndLFAreOneMessage(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	crlf := msg("hello", "1@x", "body\r\nmore")
	lf := bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n"))
	r1 := deliver(t, w, crlf, Meta{Folder: "A"})
	r2 := deliver(t, w, lf, Meta{Folder: "A"})
	commit(t, w)
	if r1.ID != r2.ID || r2.Status != StatusExists {
		t.Fatalf("LF copy: status %v, same id %v", r2.Status, r1.ID == r2.ID)
	}
	// the stored bytes are the ones first received, unchanged
	f := filesOf(t, a, "acct", "A")
	got, _ := os.ReadFile(f[0])
	if !bytes.Equal(got, crlf) {
		t.Error("stored bytes differ from the received ones")
	}
}

func TestDeliverNearDuplicate(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	r1 := deliver(t, w, msg("hello", "same@x", "body"), Meta{})
	r2 := deliver(t, w, append([]byte("List-Id: <l.x>\r\n"), msg("hello", "same@x", "body")...), Meta{})
	commit(t, w)
	if r1.ID == r2.ID || r2.Status != StatusNew || !r2.NearDup || r1.NearDup {
		t.Fatalf("r1 %+v r2 %+v", r1, r2)
	}
	if f := filesOf(t, a, "acct", "INBOX"); len(f) != 2 {
		t.Fatalf("want both variants kept, files %v", f)
	}
	st, _ := a.Stats(context.Background())
	if st.NearDups != 1 {
		t.Errorf("near-dups %d, want 1", st.NearDups)
	}
}

func TestDeliverDatesNamesAndUIDs(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	idate := time.Date(2011, 3, 4, 5, 6, 7, 0, time.UTC)
	r1 := deliver(t, w, msg("a", "a@x", "a"), Meta{InternalDate: idate, Flags: []string{`\Answered`, `\Seen`, "$Work"}})
	r2 := deliver(t, w, msg("b", "b@x", "b"), Meta{}) // date from the header
	commit(t, w)
	if r1.UID != 1 || r2.UID != 2 {
		t.Errorf("uids %d %d, want 1 2", r1.UID, r2.UID)
	}
	name := fmt.Sprintf("%d.%s:2,RS", idate.Unix(), r1.ID)
	path := filepath.Join(a.MaildirRoot(), "acct", "cur", name)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("expected file %s: %v", name, err)
	}
	if !st.ModTime().Equal(idate) {
		t.Errorf("mtime %v, want %v", st.ModTime(), idate)
	}
	hdr := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	if !r2.Date.Equal(hdr) {
		t.Errorf("date from header %v, want %v", r2.Date, hdr)
	}
	// UIDs are stable across reopening and continue increasing.
	dir := a.Dir()
	a.Close()
	a2, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	w2 := newWriter(t, a2)
	r3 := deliver(t, w2, msg("c", "c@x", "c"), Meta{})
	r1again := deliver(t, w2, msg("a", "a@x", "a"), Meta{})
	commit(t, w2)
	if r3.UID != 3 || r1again.UID != 1 {
		t.Errorf("after reopen: new uid %d (want 3), old uid %d (want 1)", r3.UID, r1again.UID)
	}
	var flags string
	a2.rdb.QueryRow(`SELECT flags FROM entries WHERE uid = 1`).Scan(&flags)
	if flags != `$Work \Answered \Seen` {
		t.Errorf("catalog flags %q", flags)
	}
}

func TestDeliverSourceErrorLeavesNothing(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	boom := errors.New("connection reset")
	r := iotest.TimeoutReader(bytes.NewReader(msg("x", "x@x", strings.Repeat("y", 100000))))
	_, err := w.Deliver(context.Background(), iotest.ErrReader(boom), Meta{Account: "acct"})
	var se *SourceError
	if !errors.As(err, &se) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want a SourceError wrapping the read error", err)
	}
	_, err = w.Deliver(context.Background(), r, Meta{Account: "acct"})
	if !errors.As(err, &se) {
		t.Fatalf("a reader failing mid-message: err = %v, want a SourceError", err)
	}
	_, err = w.Deliver(context.Background(), bytes.NewReader(nil), Meta{Account: "acct"})
	if !errors.Is(err, ErrEmptyMessage) {
		t.Fatalf("empty message: err = %v", err)
	}
	commit(t, w)
	if ents, _ := os.ReadDir(filepath.Join(a.MaildirRoot(), "acct", "tmp")); len(ents) != 0 {
		t.Errorf("partial message left in tmp/: %v", ents)
	}
	if f := filesOf(t, a, "acct", "INBOX"); len(f) != 0 {
		t.Errorf("partial message stored: %v", f)
	}
}

func TestOddMessagesStoredByteForByte(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	odd := map[string][]byte{
		"nul":         []byte("Subject: nul\r\n\r\na\x00b\r\n"),
		"bare-cr":     []byte("Subject: cr\r\rbody\r"),
		"no-header":   []byte("just text, no header at all"),
		"huge-header": append(append([]byte("X-Long: "), bytes.Repeat([]byte("x"), 1<<20)...), "\r\n\r\nbody\r\n"...),
		"binary":      {0xff, 0xfe, 0x00, 0x01, '\n', 0x80},
	}
	ids := map[string]ID{}
	for name, raw := range odd {
		ids[name] = deliver(t, w, raw, Meta{Folder: "Odd"}).ID
	}
	commit(t, w)
	for name, raw := range odd {
		path := filepath.Join(a.MaildirRoot(), "acct", ".Odd", "cur")
		matches, _ := filepath.Glob(filepath.Join(path, "*."+ids[name].String()+":2,"))
		if len(matches) != 1 {
			t.Errorf("%s: %d files", name, len(matches))
			continue
		}
		got, _ := os.ReadFile(matches[0])
		if !bytes.Equal(got, raw) {
			t.Errorf("%s: stored bytes differ", name)
		}
	}
	TestVerify(t, a)
}

func TestAbortAndAdoptAfterCrash(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	raw := msg("x", "x@x", "x")
	deliver(t, w, raw, Meta{})
	// Crash between moving the file into cur/ and committing the catalog.
	if err := w.commitFiles(); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	rep, err := a.Verify(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemOrphaned {
		t.Fatalf("verify after crash: %+v", rep.Problems)
	}
	// The rerun delivers the same message again and adopts the file.
	w = newWriter(t, a)
	if r := deliver(t, w, raw, Meta{}); r.Status != StatusNew {
		t.Fatalf("status %v", r.Status)
	}
	commit(t, w)
	TestVerify(t, a)
	if f := filesOf(t, a, "acct", "INBOX"); len(f) != 1 {
		t.Fatalf("files %v", f)
	}
}

func TestTmpLeftoversRemoved(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	deliver(t, w, msg("x", "x@x", "x"), Meta{})
	commit(t, w)
	left := filepath.Join(a.MaildirRoot(), "acct", "tmp", "123.456_1.mailark")
	os.WriteFile(left, []byte("partial"), 0o600)
	newWriter(t, a)
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover tmp file still there: %v", err)
	}
}

func TestMissingFileIsRepaired(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	raw := msg("x", "x@x", "x")
	deliver(t, w, raw, Meta{Folder: "A"})
	commit(t, w)
	for _, f := range filesOf(t, a, "acct", "A") {
		os.Remove(f)
	}
	r := deliver(t, w, raw, Meta{Folder: "B"})
	commit(t, w)
	if r.Status != StatusLinked {
		t.Fatalf("status %v", r.Status)
	}
	got, err := os.ReadFile(filesOf(t, a, "acct", "B")[0])
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("repaired copy: %v", err)
	}
	rep, _ := a.Verify(context.Background(), nil)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemMissing {
		t.Errorf("verify should still report the deleted copy in A: %+v", rep.Problems)
	}
}

func TestAddToFolder(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	raw := msg("x", "x@x", "x")
	r := deliver(t, w, raw, Meta{Folder: "INBOX"})
	r2, err := w.AddToFolder(context.Background(), r.ID, Meta{Account: "acct", Folder: "Label", InternalDate: r.Date})
	if err != nil || r2.Status != StatusLinked {
		t.Fatalf("AddToFolder: %v %v", r2.Status, err)
	}
	commit(t, w)
	if len(filesOf(t, a, "acct", "Label")) != 1 {
		t.Fatal("no copy in Label")
	}
	TestVerify(t, a)
}

func TestVerifyFindsCorruptMissingOrphaned(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	deliver(t, w, msg("a", "a@x", "a"), Meta{Folder: "A"})
	deliver(t, w, msg("b", "b@x", "b"), Meta{Folder: "A"})
	commit(t, w)
	files := filesOf(t, a, "acct", "A")
	os.WriteFile(files[0], []byte("tampered"), 0o600)
	os.Remove(files[1])
	orphan := filepath.Join(filepath.Dir(files[0]), fmt.Sprintf("1.%s:2,", Sum([]byte("o"))))
	os.WriteFile(orphan, []byte("o"), 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(files[0]), "README"), []byte("?"), 0o600)
	rep, err := a.Verify(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range rep.Problems {
		kinds[p.Kind]++
	}
	want := map[string]int{ProblemCorrupt: 1, ProblemMissing: 1, ProblemOrphaned: 1, ProblemForeign: 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("problems %v, want %v (%+v)", kinds, want, rep.Problems)
	}
}

func TestSecondWriterIsLockedOut(t *testing.T) {
	a := TestArchive(t)
	_, err := Open(context.Background(), a.Dir(), Options{})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second open: %v", err)
	}
	ro, err := Open(context.Background(), a.Dir(), Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open while locked: %v", err)
	}
	ro.Close()
}

func TestBatchCommitsAutomatically(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	w.BatchMessages = 3
	for i := range 7 {
		deliver(t, w, msg("m", fmt.Sprint(i, "@x"), fmt.Sprint(i)), Meta{})
	}
	if w.Pending() != 1 {
		t.Errorf("pending %d, want 1 (two batches of 3 committed)", w.Pending())
	}
	var n int
	a.rdb.QueryRow(`SELECT count(*) FROM entries`).Scan(&n)
	if n != 6 {
		t.Errorf("committed entries %d, want 6", n)
	}
	var ran bool
	w.AfterCommit(func() { ran = true })
	commit(t, w)
	if !ran {
		t.Error("after-commit hook did not run")
	}
}

func TestHeaderInfo(t *testing.T) {
	h := parseHeaderInfo([]byte("Subject: =?GBK?B?0K3S6Q==?=\r\n folded\r\nFrom: =?utf-8?q?J=C3=BCrgen?= <j@x>\r\nMessage-ID: junk <id@host> trailing\r\nDate: not a date\r\n\r\nSubject: body"))
	if h.Subject != "协议 folded" || h.From != "Jürgen <j@x>" || h.MessageID != "id@host" || !h.Date.IsZero() {
		t.Errorf("%+v", h)
	}
}

func BenchmarkDeliver(b *testing.B) {
	a := TestArchive(b)
	w, _ := a.NewWriter(context.Background())
	body := bytes.Repeat([]byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n"), 80)
	b.SetBytes(int64(len(body) + 200))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := append(msg("bench", fmt.Sprint(i, "@bench"), fmt.Sprint(i)), body...)
		folder := []string{"INBOX", "Sent", "Archive"}[i%3]
		if _, err := w.Deliver(context.Background(), bytes.NewReader(raw), Meta{Account: "b", Folder: folder}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Commit(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func TestRescanAdoptsOrphansAndDropsMissing(t *testing.T) {
	a := TestArchive(t)
	w := newWriter(t, a)
	keep := msg("keep", "k@x", "k")
	deliver(t, w, keep, Meta{Folder: "A"})
	deliver(t, w, keep, Meta{Folder: "B"})
	gone := msg("gone", "g@x", "g")
	deliver(t, w, gone, Meta{Folder: "A"})
	commit(t, w)
	// A crash left a file the catalog does not know.
	orphan := msg("orphan", "o@x", "o")
	w = newWriter(t, a)
	deliver(t, w, orphan, Meta{Folder: "A", Flags: []string{`\Seen`}})
	if err := w.commitFiles(); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	// Someone deleted one copy of "keep" and the only copy of "gone".
	for _, f := range filesOf(t, a, "acct", "A") {
		if strings.Contains(f, Sum(keep).String()) || strings.Contains(f, Sum(gone).String()) {
			os.Remove(f)
		}
	}
	// And a tampered orphan must not be adopted under its name.
	bad := filepath.Join(a.MaildirRoot(), "acct", "cur", fmt.Sprintf("1.%s:2,", Sum([]byte("x"))))
	os.WriteFile(bad, []byte("y"), 0o600)

	rep, err := a.Rescan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Adopted != 1 || rep.Dropped != 2 || len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemCorrupt {
		t.Fatalf("rescan: %+v", rep)
	}
	os.Remove(bad)
	TestVerify(t, a)
	st, _ := a.Stats(context.Background())
	if st.Messages != 2 || st.Unique != 2 {
		t.Errorf("after rescan: %d entries, %d unique; want 2, 2 (keep in B, orphan in A)", st.Messages, st.Unique)
	}
	// The surviving copy of "keep" is the one the catalog points to.
	w = newWriter(t, a)
	if r := deliver(t, w, keep, Meta{Folder: "C"}); r.Status != StatusLinked {
		t.Errorf("status %v", r.Status)
	}
	commit(t, w)
	TestVerify(t, a)
}
