package testcorpus

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark"
)

// sampleOptions and sampleCommand must match testdata/sample/README.md.
var sampleOptions = Options{Seed: 761, Count: 60, OddKinds: []string{"no-message-id", "unparsable-date", "bare-lf", "missing-final-boundary"}}

const sampleCommand = "go run ./internal/testcorpus/cmd/gencorpus -count 60 -seed 761 " +
	"-odd-kinds no-message-id,unparsable-date,bare-lf,missing-final-boundary -out testdata/sample -force"

// TestSampleUpToDate checks that the bundled sample archive is exactly what
// the generator produces, so its manifest can be trusted by other tests.
func TestSampleUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "sample")
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), sampleCommand) {
		t.Errorf("README.md does not show the command %q", sampleCommand)
	}
	// The tree itself is bundled as maildir.tar; check what it unpacks to.
	tree := t.TempDir()
	if _, err := mailark.ExtractSample(tree); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := ReadManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	ms := collect(t, sampleOptions)
	stale := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("testdata/sample is stale (regenerate it from the repository root with: %s): "+format,
			append([]any{sampleCommand}, args...)...)
	}
	if len(es) != len(ms) {
		stale("%d manifest entries, generator makes %d", len(es), len(ms))
	}
	for i, e := range es {
		w := NewManifestEntry(ms[i])
		w.Path = e.Path
		if !e.InternalDate.Equal(w.InternalDate) || !e.Date.Equal(w.Date) {
			stale("entry %d: dates differ", i)
		}
		e.InternalDate, e.Date, w.InternalDate, w.Date = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(e, w) {
			stale("entry %d:\n got %+v\nwant %+v", i, e, w)
		}
		raw, err := os.ReadFile(filepath.Join(tree, filepath.FromSlash(e.Path)))
		if err != nil {
			stale("%v", err)
		}
		id := (&Message{Raw: raw}).ID()
		if hex.EncodeToString(id[:]) != e.ID {
			stale("%s does not have id %s", e.Path, e.ID)
		}
		fd, _ := FolderDir(e.Folder, MaildirPlusPlus)
		if d := filepath.Dir(filepath.Dir(filepath.FromSlash(e.Path))); d != filepath.Join("maildir", fd) {
			stale("%s is not in the directory of %s", e.Path, e.Folder)
		}
	}
	// No stray files. Empty new/ and tmp/ directories may be missing: git
	// does not keep empty directories.
	n := 0
	filepath.WalkDir(filepath.Join(tree, "maildir"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if s := filepath.Base(filepath.Dir(p)); s == "cur" || s == "new" || s == "tmp" {
				n++
			}
		}
		return err
	})
	if n != len(es) {
		stale("%d message files in maildir/, %d in the manifest", n, len(es))
	}
}
