package mbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
)

const account = "me"

// entry is one catalog row of entries, joined with its folder and message.
type entry struct {
	Folder   string
	UID      uint32
	ID       string // hex SHA-256 of the CRLF-normalised bytes
	Flags    string // space separated, as the catalog keeps them
	Date     int64  // internal date, unix seconds
	Filename string
}

// catalogEntries reads every committed entry of account, by folder and UID.
func catalogEntries(t *testing.T, a *archive.Archive) []entry {
	t.Helper()
	rows, err := a.DB().Query(`SELECT f.name, e.uid, lower(hex(m.hash)), e.flags, e.internal_date, e.filename
		FROM entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message
		WHERE f.account = ? ORDER BY f.name, e.uid`, account)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.Folder, &e.UID, &e.ID, &e.Flags, &e.Date, &e.Filename); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// entryPath is the archived file of e.
func entryPath(t *testing.T, a *archive.Archive, e entry) string {
	t.Helper()
	dir, err := archive.FolderDir(e.Folder)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(a.MaildirRoot(), account, dir, "cur", e.Filename)
}

func readEntry(t *testing.T, a *archive.Archive, e entry) string {
	t.Helper()
	b, err := os.ReadFile(entryPath(t, a, e))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lfID is mailark's identity of a message written with bare LF line ends
// only: the SHA-256 of it with every LF made CRLF. Computed here, not by
// the archive, so that a mistake there cannot hide in both.
func lfID(t *testing.T, raw string) string {
	t.Helper()
	if strings.Contains(raw, "\r") {
		t.Fatalf("lfID: %q has a CR", raw)
	}
	sum := sha256.Sum256([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	return hex.EncodeToString(sum[:])
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newWriter(t *testing.T, a *archive.Archive) *archive.Writer {
	t.Helper()
	w, err := a.NewWriter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func openSource(t *testing.T, path, resume string, opts Options) *Source {
	t.Helper()
	src, err := Open(path, resume, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// importFile imports path into a new archive in one run and commits.
func importFile(t *testing.T, path string, opts Options) (*archive.Archive, *importers.Report) {
	t.Helper()
	a := archive.TestArchive(t)
	w := newWriter(t, a)
	rep := runSource(t, w, openSource(t, path, "", opts))
	return a, rep
}

// runSource runs src to its end into w and commits.
func runSource(t *testing.T, w *archive.Writer, src importers.Source) *importers.Report {
	t.Helper()
	ctx := context.Background()
	rep := &importers.Report{}
	if err := importers.Run(ctx, w, src, importers.Options{Account: account}, rep); err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return rep
}

// countingSource wraps a Source (keeping its Checkpointer), counts the
// messages Next returns and, once stopAfter are out, returns stop() instead
// of reading on: an interruption at a known point.
type countingSource struct {
	*Source
	n         int
	stopAfter int // 0: never
	stop      func() error
}

func (c *countingSource) Next(ctx context.Context) (*importers.Message, error) {
	if c.stopAfter > 0 && c.n == c.stopAfter {
		return nil, c.stop()
	}
	m, err := c.Source.Next(ctx)
	if err == nil {
		c.n++
	}
	return m, err
}

// fixedDate is 2006-01-02 15:04:05 UTC (unix 1136214245) plus i seconds.
func fixedDate(i int) time.Time {
	return time.Date(2006, 1, 2, 15, 4, 5+i, 0, time.UTC)
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	sa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(sa, sb)
}
