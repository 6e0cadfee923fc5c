package search

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/mailark/mailark"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	maildirimp "github.com/mailark/mailark/importers/maildir"
)

// sampleArchive imports the bundled sample into a new archive.
func sampleArchive(t *testing.T) *archive.Archive {
	t.Helper()
	a := archive.TestArchive(t)
	src, err := mailark.ExtractSample(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := maildirimp.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := importers.Run(ctx, w, s, importers.Options{Account: "demo"}, &importers.Report{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// sampleIDs returns the IDs of sample messages carrying tag, from the
// manifest (not from the code under test).
func sampleIDs(t *testing.T, tag string) []string {
	t.Helper()
	ids, err := mailark.SampleTagged(tag)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func search(t *testing.T, ix *Index, q query.Query) []string {
	t.Helper()
	hits, _, err := ix.Search(context.Background(), q, 1000, SortDateDesc)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hits {
		out = append(out, h.ID.String())
	}
	sort.Strings(out)
	return out
}

func TestSyncIndexesEveryMessageOnce(t *testing.T) {
	a := sampleArchive(t)
	ctx := context.Background()
	ix, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	n, err := Sync(ctx, a, ix, nil, func(id archive.ID, err error) { t.Errorf("%s: %v", id.Short(), err) })
	if err != nil {
		t.Fatal(err)
	}
	st, _ := a.Stats(ctx)
	if n != int(st.Unique) || st.Indexed != st.Unique {
		t.Fatalf("indexed %d (catalog says %d), unique %d", n, st.Indexed, st.Unique)
	}
	if c, _ := ix.DocCount(); c != uint64(st.Unique) {
		t.Fatalf("index has %d documents, want %d", c, st.Unique)
	}
	// A second Sync has nothing to do.
	if n, err := Sync(ctx, a, ix, nil, nil); err != nil || n != 0 {
		t.Fatalf("second sync: %d, %v", n, err)
	}

	q := bleve.NewMatchQuery("quokka")
	q.SetField(FieldBody)
	if got, want := search(t, ix, q), sampleIDs(t, "needle:quokka"); strings.Join(got, ",") != strings.Join(want, ",") || len(want) == 0 {
		t.Errorf("body:quokka = %v, want %v", got, want)
	}

	// Filing a message into another folder re-indexes it with that folder.
	w, _ := a.NewWriter(ctx)
	some := sampleIDs(t, "needle:quokka")[0]
	id, _ := archive.ParseID(some)
	if _, err := w.AddToFolder(ctx, id, archive.Meta{Account: "demo", Folder: "Saved"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := Sync(ctx, a, ix, nil, nil); err != nil || n != 1 {
		t.Fatalf("sync after a new copy: %d, %v", n, err)
	}
	tq := bleve.NewTermQuery("Saved")
	tq.SetField(FieldFolder)
	if got := search(t, ix, tq); len(got) != 1 || got[0] != some {
		t.Errorf("folder:Saved = %v, want [%s]", got, some)
	}
}

// TestNewIndexReindexesEverything: when the index is lost, the next Sync
// must not trust the catalog's "indexed" marks.
func TestNewIndexReindexesEverything(t *testing.T) {
	a := sampleArchive(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "index")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(ctx, a, ix, nil, nil); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	n, err := Sync(ctx, a, ix, nil, nil)
	st, _ := a.Stats(ctx)
	if err != nil || n != int(st.Unique) {
		t.Fatalf("after losing the index: indexed %d of %d (%v)", n, st.Unique, err)
	}
}
