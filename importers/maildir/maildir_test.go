package maildir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/testcorpus"
)

const account = "me"

// entry is one committed catalog entry.
type entry struct {
	Folder string
	UID    uint32
	ID     string
	Flags  string
	Date   int64
}

func catalogEntries(t *testing.T, a *archive.Archive) []entry {
	t.Helper()
	rows, err := a.DB().Query(`SELECT f.name, e.uid, lower(hex(m.hash)), e.flags, e.internal_date
		FROM entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message
		WHERE f.account = ? ORDER BY f.name, e.uid`, account)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.Folder, &e.UID, &e.ID, &e.Flags, &e.Date); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// treeDigest describes every path under root: type, mode, size, mtime and
// a hash of the content (the inode too, when inodes is set).
func treeDigest(t *testing.T, root string, inodes bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		desc := fmt.Sprintf("%v", info.Mode())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d %d %x", info.Size(), info.ModTime().UnixNano(), sha256.Sum256(b))
		}
		if inodes {
			desc += fmt.Sprintf(" ino=%v", inode(info))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func run(t *testing.T, a *archive.Archive, src importers.Source) *importers.Report {
	t.Helper()
	w, err := a.NewWriter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rep := &importers.Report{}
	if err := importers.Run(context.Background(), w, src, importers.Options{Account: account}, rep); err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rep
}

func open(t *testing.T, root string) *Source {
	t.Helper()
	src, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

type key struct{ folder, id string }

type copyOf struct {
	flags string
	date  int64
}

// TestImportCorpus imports a generated tree in both layouts and checks
// the archive against what the generator says it wrote.
func TestImportCorpus(t *testing.T) {
	var msgs []*testcorpus.Message
	err := testcorpus.Generate(testcorpus.Options{Seed: 3, Count: 300, Odd: true}, func(m *testcorpus.Message) error {
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// What the archive must hold: one entry per distinct (folder, bytes),
	// with the flags and date of one of the copies there.
	want := map[key][]copyOf{}
	ids := map[string]bool{}
	tags := map[string]int{}
	for _, m := range msgs {
		sum := m.ID()
		id := hex.EncodeToString(sum[:])
		ids[id] = true
		flags := slices.Clone(m.Flags)
		slices.Sort(flags)
		k := key{m.Folder, id}
		want[k] = append(want[k], copyOf{strings.Join(flags, " "), m.InternalDate.Unix()})
		for _, tag := range m.Tags {
			tags[tag]++
		}
	}
	wantPerFolder := map[string]int64{}
	for k := range want {
		wantPerFolder[k.folder]++
	}
	// The corpus must exercise what this test is about.
	for _, tag := range []string{"dup:same-folder", "dup:other-folder", "near-dup", "odd:no-final-newline", "odd:cr-only"} {
		if tags[tag] == 0 {
			t.Fatalf("corpus has no %s message; pick another seed", tag)
		}
	}
	nKeywords := 0
	for _, m := range msgs {
		if slices.ContainsFunc(m.Flags, func(f string) bool { return !strings.HasPrefix(f, `\`) }) {
			nKeywords++
		}
	}
	if nKeywords == 0 {
		t.Fatal("corpus has no keywords; pick another seed")
	}

	for _, layout := range []testcorpus.Layout{testcorpus.MaildirPlusPlus, testcorpus.MaildirFS} {
		t.Run(layout.String(), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "Maildir")
			if err := testcorpus.WriteMaildir(root, msgs, layout); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d files, %d distinct in folders, %d distinct messages", len(msgs), len(want), len(ids))
			before := treeDigest(t, root, false)
			a := archive.TestArchive(t)
			src := open(t, root)
			if n, _ := src.Total(); n != int64(len(msgs)) {
				t.Errorf("Total = %d messages, want %d", n, len(msgs))
			}
			rep := run(t, a, src)

			if rep.Failed != 0 || len(rep.Problems) != 0 {
				t.Errorf("failed %d, problems %v", rep.Failed, rep.Problems)
			}
			wantCounts := archive.RunCounts{New: int64(len(ids)), Linked: int64(len(want) - len(ids)), Existing: int64(len(msgs) - len(want))}
			if got := rep.RunCounts; got.New != wantCounts.New || got.Linked != wantCounts.Linked || got.Existing != wantCounts.Existing {
				t.Errorf("counts %+v, want new/linked/existing %d/%d/%d", got, wantCounts.New, wantCounts.Linked, wantCounts.Existing)
			}

			entries := catalogEntries(t, a)
			got := map[key]bool{}
			for _, e := range entries {
				k := key{e.Folder, e.ID}
				if got[k] {
					t.Errorf("%s %s archived twice", e.Folder, e.ID[:12])
				}
				got[k] = true
				copies, ok := want[k]
				if !ok {
					t.Errorf("unexpected entry %+v", e)
					continue
				}
				if !slices.Contains(copies, copyOf{e.Flags, e.Date}) {
					t.Errorf("%s %s: flags %q date %d, want one of %v", e.Folder, e.ID[:12], e.Flags, e.Date, copies)
				}
			}
			for k := range want {
				if !got[k] {
					t.Errorf("%s %s not archived", k.folder, k.id[:12])
				}
			}

			st, err := a.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			gotPerFolder := map[string]int64{}
			for _, acct := range st.Accounts {
				for _, f := range acct.Folders {
					gotPerFolder[f.Name] = f.Messages
				}
			}
			if !maps.Equal(gotPerFolder, wantPerFolder) {
				t.Errorf("per-folder counts %v, want %v", gotPerFolder, wantPerFolder)
			}
			if st.Unique != int64(len(ids)) {
				t.Errorf("%d unique messages, want %d", st.Unique, len(ids))
			}

			if after := treeDigest(t, root, false); !maps.Equal(before, after) {
				t.Errorf("the import changed the source tree")
				for p := range before {
					if before[p] != after[p] {
						t.Logf("changed: %s", p)
					}
				}
				for p := range after {
					if _, ok := before[p]; !ok {
						t.Logf("added: %s", p)
					}
				}
			}
			archive.TestVerify(t, a)

			// A second import finds everything there and changes nothing.
			archived := treeDigest(t, a.MaildirRoot(), true)
			rep2 := run(t, a, open(t, root))
			if want := (archive.RunCounts{Existing: int64(len(msgs))}); rep2.RunCounts != want || len(rep2.Problems) != 0 {
				t.Errorf("second import: %+v %v, want %+v", rep2.RunCounts, rep2.Problems, want)
			}
			if e2 := catalogEntries(t, a); !slices.Equal(e2, entries) {
				t.Errorf("second import changed the catalog")
			}
			if after := treeDigest(t, a.MaildirRoot(), true); !maps.Equal(archived, after) {
				t.Errorf("second import changed the archive's files")
			}
		})
	}
}

// mkfile creates root/rel with content and mtime.
func mkfile(t *testing.T, root, rel, content string, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func mkdirs(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFlagsFromNames: system flags from the info after ":2," (or "!2,"),
// keywords from Dovecot's letters and dovecot-keywords, nothing for a
// file without info, and the mtime as internal date.
func TestFlagsFromNames(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "cur", "new", "tmp")
	mkfile(t, root, "dovecot-keywords", "0 $Label1\n1 Junk\n2 NonJunk\n30 TooFar\nbad line\n", time.Time{})
	cases := []struct {
		name  string
		flags string
	}{
		{"new/1600000000.M1P1.host", ""},
		{"new/1600000001.M2P1.host,S=120", ""},
		{"cur/1600000002.M3P1.host:2,S", `\Seen`},
		{"cur/1600000003.M4P1.host,S=120,W=124:2,FRS", `\Answered \Flagged \Seen`},
		{"cur/1600000004.M5P1.host:2,", ``},
		{"cur/1600000005.M6P1.host:2,Sac", `$Label1 NonJunk \Seen`},
		{"cur/1600000006.M7P1.host:2,DTz", `\Deleted \Draft`},
		{"cur/1600000007.M8P1.host!2,P", `$Forwarded`},
		{"cur/1600000008.M9P1.host", ``},
	}
	for i, c := range cases {
		mkfile(t, root, c.name, fmt.Sprintf("Subject: %d\n\nbody %d\n", i, i), time.Unix(1500000000+int64(i)*1000, 0))
	}
	// Not messages: hidden files, tmp/, a directory in cur/.
	mkfile(t, root, "cur/.nfs000123", "Subject: hidden\n\n", time.Time{})
	mkfile(t, root, "tmp/1600000009.M10P1.host", "Subject: in tmp\n\n", time.Time{})
	mkdirs(t, root, "cur/subdir")

	a := archive.TestArchive(t)
	rep := run(t, a, open(t, root))
	if rep.New != int64(len(cases)) || rep.Failed != 0 {
		t.Fatalf("report %+v %v, want %d new", rep.RunCounts, rep.Problems, len(cases))
	}
	byID := map[string]entry{}
	for _, e := range catalogEntries(t, a) {
		byID[e.ID] = e
	}
	if len(byID) != len(cases) {
		t.Errorf("%d entries, want %d", len(byID), len(cases))
	}
	for i, c := range cases {
		sum := sha256.Sum256([]byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)))
		e, ok := byID[hex.EncodeToString(sum[:])]
		if !ok {
			t.Errorf("%s not archived", c.name)
			continue
		}
		if e.Folder != "INBOX" || e.Flags != c.flags || e.Date != 1500000000+int64(i)*1000 {
			t.Errorf("%s: %s flags %q date %d, want INBOX %q %d", c.name, e.Folder, e.Flags, e.Date, c.flags, 1500000000+int64(i)*1000)
		}
	}
}

// TestFolderNames: both layouts, modified UTF-7 names, and directories
// that are no folders.
func TestFolderNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		dirs []string // message directories (cur/ gets one message)
		want []string
	}{
		{"maildir++", []string{"", ".Sent", ".Archive.2019", ".Re&AOc-us &- Factures", ".&ZTZO9nux-"},
			[]string{"Archive/2019", "INBOX", "Reçus & Factures", "Sent", "收件箱"}},
		{"fs", []string{"", "Sent", "Archive/2019", "Projects/Go/Reviews", "Entw&APw-rfe"},
			[]string{"Archive/2019", "Entwürfe", "INBOX", "Projects/Go/Reviews", "Sent"}},
		{"no INBOX at the root", []string{".Sent", "Lists/go"},
			[]string{"Lists/go", "Sent"}},
		{"utf-8 name kept", []string{".Größe"},
			[]string{"Größe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for i, d := range tc.dirs {
				mkdirs(t, root, filepath.Join(d, "new"), filepath.Join(d, "tmp"))
				mkfile(t, root, filepath.Join(d, "cur", fmt.Sprintf("1600000000.M%dP1.host:2,S", i)),
					fmt.Sprintf("Subject: %d\n\n", i), time.Time{})
			}
			// Neither is a folder: no cur/ or new/ in them.
			mkdirs(t, root, "courierimapkeywords", ".Trash-not-a-maildir/stuff")
			a := archive.TestArchive(t)
			rep := run(t, a, open(t, root))
			if rep.New != int64(len(tc.dirs)) {
				t.Errorf("report %+v %v", rep.RunCounts, rep.Problems)
			}
			var got []string
			for _, e := range catalogEntries(t, a) {
				got = append(got, e.Folder)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("folders %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOpenNotAMaildir(t *testing.T) {
	dir := t.TempDir()
	mkfile(t, dir, "notes.txt", "hello", time.Time{})
	mkdirs(t, dir, "photos/2020", "tmp")
	for _, tc := range []struct {
		path, want string
	}{
		{dir, "has no cur/ or new/ directory"},
		{filepath.Join(dir, "notes.txt"), "is not a directory"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		_, err := Open(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "opening maildir: ") {
			t.Errorf("Open(%s) = %v, want \"opening maildir: ...%s...\"", tc.path, err, tc.want)
		}
	}
}

// TestFileGoneMeanwhile: a file a mail client moved away after Open is one
// failed message; the run goes on.
func TestFileGoneMeanwhile(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "cur", "tmp")
	gone := mkfile(t, root, "new/1600000000.M1P1.host", "Subject: a\n\n", time.Time{})
	mkfile(t, root, "new/1600000001.M2P1.host", "Subject: b\n\n", time.Time{})
	src := open(t, root)
	if err := os.Rename(gone, filepath.Join(root, "cur", "1600000000.M1P1.host:2,S")); err != nil {
		t.Fatal(err)
	}
	a := archive.TestArchive(t)
	rep := run(t, a, src)
	if rep.New != 1 || rep.Failed != 1 || len(rep.Problems) != 1 {
		t.Fatalf("report %+v %v, want 1 new 1 failed", rep.RunCounts, rep.Problems)
	}
	if p := rep.Problems[0]; p.Where != "maildir:"+gone || !p.Fatal || !strings.Contains(p.Error, "no such file") {
		t.Errorf("problem %+v, want a failure at maildir:%s", p, gone)
	}
}

func inode(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// TestSkipKnown: a rerun over an unchanged tree reads no file; a changed
// file is read again; refs belong to one account.
func TestSkipKnown(t *testing.T) {
	root := t.TempDir()
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	a1 := mkfile(t, root, "cur/1.x:2,S", "Subject: one\r\n\r\n1\r\n", mtime)
	mkfile(t, root, "cur/2.x:2,", "Subject: two\r\n\r\n2\r\n", mtime)
	mkfile(t, root, ".Sub/cur/3.x:2,", "Subject: three\r\n\r\n3\r\n", mtime)
	a := archive.TestArchive(t)
	ctx := context.Background()
	pass := func(acct string) (*importers.Report, int) {
		known, err := a.SourceRefs(ctx, SourceName(acct, root))
		if err != nil {
			t.Fatal(err)
		}
		src := open(t, root)
		src.SkipKnown(acct, known)
		w, err := a.NewWriter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rep := &importers.Report{}
		if err := importers.Run(ctx, w, src, importers.Options{Account: acct}, rep); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return rep, len(known)
	}
	if rep, n := pass(account); rep.New != 3 || n != 0 {
		t.Fatalf("first run: %+v, %d known", rep.RunCounts, n)
	}
	if rep, n := pass(account); rep.Existing != 3 || rep.New != 0 || n != 3 {
		t.Fatalf("rerun: %+v, %d known", rep.RunCounts, n)
	}
	// A changed file (new mtime) is read again: same bytes, so Exists.
	later := mtime.Add(time.Hour)
	if err := os.Chtimes(a1, later, later); err != nil {
		t.Fatal(err)
	}
	if rep, _ := pass(account); rep.Existing != 3 {
		t.Fatalf("after touching a file: %+v", rep.RunCounts)
	}
	// Another account knows nothing yet.
	if rep, n := pass("other"); n != 0 || rep.Linked != 3 {
		t.Fatalf("other account: %+v, %d known", rep.RunCounts, n)
	}
	archive.TestVerify(t, a)
}
