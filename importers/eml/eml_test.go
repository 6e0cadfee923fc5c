package eml

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
)

const account = "me"

type entry struct {
	Folder  string
	Subject string
	Date    int64
}

func catalogEntries(t *testing.T, a *archive.Archive) []entry {
	t.Helper()
	rows, err := a.DB().Query(`SELECT f.name, m.subject, e.internal_date
		FROM entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message
		WHERE f.account = ? ORDER BY f.name, e.uid`, account)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.Folder, &e.Subject, &e.Date); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// mtime is what mkfile sets unless told otherwise: 2011-11-11 11:11:11 UTC.
var mtime = time.Unix(1321009871, 0)

func mkfile(t *testing.T, root, rel, content string) string {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

func eml(subject string) string {
	return fmt.Sprintf("From: a@example.org\r\nSubject: %s\r\nDate: Tue, 15 Nov 1994 08:12:31 -0500\r\n\r\n%s\r\n", subject, subject)
}

func importPaths(t *testing.T, paths ...string) (*archive.Archive, *importers.Report) {
	t.Helper()
	src, err := Open(paths)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a := archive.TestArchive(t)
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
	return a, rep
}

// TestDirectoriesAndFiles: a directory's .eml files (any case) go to the
// folder of their subdirectory, other files in it are skipped, and a file
// named explicitly is imported whatever its name.
func TestDirectoriesAndFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "export")
	mkfile(t, dir, "x.eml", eml("top"))
	mkfile(t, dir, "A/B/y.eml", eml("in A/B"))
	mkfile(t, dir, "A/z.EML", eml("upper-case extension"))
	mkfile(t, dir, "Reçus & Factures/2020/r.eml", eml("utf-8 directory"))
	mkfile(t, dir, "A/B/readme.md", eml("not eml: skipped"))
	mkfile(t, dir, "notes.txt", eml("not eml either"))
	mkfile(t, dir, "A/B/y.eml.bak", eml("backup: skipped"))
	single := mkfile(t, root, "saved/message.txt", eml("named explicitly"))

	src, err := Open([]string{dir, single})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := src.Total(); n != 5 {
		t.Errorf("Total = %d files, want 5", n)
	}
	src.Close()

	a, rep := importPaths(t, dir, single)
	if rep.New != 5 || rep.Failed != 0 || len(rep.Problems) != 0 {
		t.Errorf("report %+v %v, want 5 new", rep.RunCounts, rep.Problems)
	}
	got := map[string]string{}
	for _, e := range catalogEntries(t, a) {
		got[e.Subject] = e.Folder
	}
	want := map[string]string{
		"top":                  "INBOX",
		"in A/B":               "A/B",
		"upper-case extension": "A",
		"utf-8 directory":      "Reçus & Factures/2020",
		"named explicitly":     "INBOX",
	}
	if !maps.Equal(got, want) {
		t.Errorf("subject → folder %q, want %q", got, want)
	}
	archive.TestVerify(t, a)
}

// TestInternalDate: the Date header, or the file's mtime without one.
func TestInternalDate(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          int64
	}{
		{"date header", "Subject: s\r\nDate: Tue, 15 Nov 1994 08:12:31 -0500\r\n\r\nbody\r\n", 784905151},
		{"no date header", "Subject: s\r\n\r\nbody\r\n", 1321009871},
		{"unparsable date", "Subject: s\r\nDate: sometime yesterday, around noon\r\n\r\nbody\r\n", 1321009871},
		{"date in the body only", "Subject: s\r\n\r\nDate: Tue, 15 Nov 1994 08:12:31 -0500\r\n", 1321009871},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mkfile(t, t.TempDir(), "m.eml", tc.content)
			a, rep := importPaths(t, p)
			if rep.New != 1 {
				t.Fatalf("report %+v %v", rep.RunCounts, rep.Problems)
			}
			if got := catalogEntries(t, a); len(got) != 1 || got[0].Date != tc.want {
				t.Errorf("entries %+v, want internal date %d", got, tc.want)
			}
		})
	}
}

// TestBadFilesAreReportedAndSkipped: an empty file, and one that vanished
// after Open, are failed messages with their path; the others are imported.
func TestBadFilesAreReportedAndSkipped(t *testing.T) {
	dir := t.TempDir()
	empty := mkfile(t, dir, "a.eml", "")
	mkfile(t, dir, "b.eml", eml("b"))
	gone := mkfile(t, dir, "c.eml", eml("c"))
	mkfile(t, dir, "d.eml", eml("d"))
	src, err := Open([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	a := archive.TestArchive(t)
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
	if rep.New != 2 || rep.Failed != 2 {
		t.Errorf("counts %+v, want 2 new 2 failed", rep.RunCounts)
	}
	want := []struct{ where, err string }{
		{"eml:" + empty, "empty message (0 bytes)"},
		{"eml:" + gone, "no such file"},
	}
	if len(rep.Problems) != len(want) {
		t.Fatalf("problems %+v, want %d", rep.Problems, len(want))
	}
	for i, p := range rep.Problems {
		if p.Where != want[i].where || !p.Fatal || !strings.Contains(p.Error, want[i].err) {
			t.Errorf("problem %+v, want failed at %s with %q", p, want[i].where, want[i].err)
		}
	}
	var subjects []string
	for _, e := range catalogEntries(t, a) {
		subjects = append(subjects, e.Subject)
	}
	if !slices.Equal(subjects, []string{"b", "d"}) {
		t.Errorf("archived %q, want b and d", subjects)
	}
}

func TestOpenMissingPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.eml")
	if _, err := Open([]string{missing}); err == nil || !strings.Contains(err.Error(), "opening "+missing) {
		t.Errorf("Open(%s) = %v, want an error naming it", missing, err)
	}
}
