package search

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

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

// TestSearchDateOrder: -date and date give the order of a full sort by
// date to the second, then ID, also for equal dates, dates before 1970,
// far-off dates, and a limit that cuts through messages of one date. The
// expected order is computed here from the documents' dates and IDs.
func TestSearchDateOrder(t *testing.T) {
	ix, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	base := time.Date(2020, 5, 1, 12, 0, 0, 0, time.UTC)
	dates := []time.Time{
		base, base, base, base, // ties
		base.Add(time.Nanosecond), base.Add(-time.Second),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1901, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2031, 1, 1, 0, 0, 0, 0, time.FixedZone("x", -5*3600)),
	}
	type doc struct {
		id   archive.ID
		date time.Time
	}
	var docs []doc
	b := ix.idx.NewBatch()
	for i, d := range dates {
		id := archive.ID(sha256.Sum256([]byte{byte(i)}))
		docs = append(docs, doc{id, d})
		if err := b.Index(docID(id), map[string]any{"_type": docType, FieldBody: "common", FieldDate: DateTerms(d), FieldDateKey: DateKey(d, id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.idx.Batch(b); err != nil {
		t.Fatal(err)
	}
	asc := slices.Clone(docs)
	slices.SortFunc(asc, func(a, b doc) int {
		if c := cmp.Compare(a.date.Unix(), b.date.Unix()); c != 0 {
			return c
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	dateOf := func(id archive.ID) time.Time {
		for _, d := range docs {
			if d.id == id {
				return d.date
			}
		}
		return time.Time{}
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	q := bleve.NewMatchQuery("common")
	q.SetField(FieldBody)
	for _, tc := range []struct {
		sort string
		want []doc
	}{{SortDateAsc, asc}, {SortDateDesc, desc}, {"", desc}} {
		for _, limit := range []int{len(docs), 3, 2, 1} {
			hits, total, err := ix.Search(context.Background(), q, limit, tc.sort)
			if err != nil {
				t.Fatal(err)
			}
			if total != uint64(len(docs)) || len(hits) != limit {
				t.Fatalf("sort %q, limit %d: %d hits of %d", tc.sort, limit, len(hits), total)
			}
			for i, h := range hits {
				if h.ID != tc.want[i].id {
					t.Errorf("sort %q, limit %d: hit %d is %s (%v), want %s (%v)", tc.sort, limit, i, h.ID.Short(), dateOf(h.ID), tc.want[i].id.Short(), tc.want[i].date)
				}
			}
		}
	}
	// limit 0 counts.
	if hits, total, err := ix.Search(context.Background(), q, 0, SortDateAsc); err != nil || len(hits) != 0 || total != uint64(len(docs)) {
		t.Errorf("limit 0: %d hits of %d, %v", len(hits), total, err)
	}
}

// TestOldIndexIsRebuilt: an index of an older layout (no version key) is
// refused by readers and replaced by the next writer, whose Sync indexes
// every message again, even when the writer that replaced it stopped
// before its Sync.
func TestOldIndexIsRebuilt(t *testing.T) {
	a := sampleArchive(t)
	ctx := context.Background()
	cur, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(ctx, a, cur, nil, nil); err != nil { // the catalog now says all is indexed
		t.Fatal(err)
	}
	cur.Close()

	dir := filepath.Join(t.TempDir(), "index")
	m, err := NewMapping()
	if err != nil {
		t.Fatal(err)
	}
	old, err := bleve.New(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Index("x", map[string]any{"_type": docType, FieldBody: "old"}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if _, err := OpenReadOnly(dir); !errors.Is(err, ErrOldIndex) {
		t.Fatalf("OpenReadOnly of an old index: %v, want ErrOldIndex", err)
	}

	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ix.DocCount(); n != 0 || !ix.Created() {
		t.Fatalf("after Open of an old index: %d documents, created %v; want a new index", n, ix.Created())
	}
	ix.Close() // stopped before Sync
	if ix, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	n, err := Sync(ctx, a, ix, nil, nil)
	st, _ := a.Stats(ctx)
	if err != nil || n != int(st.Unique) {
		t.Fatalf("sync of the new index: indexed %d of %d (%v)", n, st.Unique, err)
	}
	ix.Close()
	if ix, err = Open(dir); err != nil || ix.Created() {
		t.Fatalf("reopened after sync: created %v, %v", ix != nil && ix.Created(), err)
	}
	ix.Close()
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if c, _ := ro.DocCount(); c != uint64(st.Unique) {
		t.Errorf("read-only: %d documents, want %d", c, st.Unique)
	}
}

// TestUnreadableIndexIsRebuilt: an index directory a killed process left
// half made (here: index_meta.json and nothing else) is replaced by a new
// one that Sync fills, instead of failing every writer; Open says why. A
// new index is made beside the directory and renamed into place, so no
// ".new" directory stays behind.
func TestUnreadableIndexIsRebuilt(t *testing.T) {
	a := sampleArchive(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "index")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte(`{"storage":"scorch","index_type":"scorch"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := Open(dir)
	if err != nil {
		t.Fatalf("Open of a half-made index: %v", err)
	}
	if ix.Replaced() == nil || !ix.Created() {
		t.Errorf("replaced %v, created %v; want a reason and a new index", ix.Replaced(), ix.Created())
	}
	n, err := Sync(ctx, a, ix, nil, nil)
	st, _ := a.Stats(ctx)
	if err != nil || n != int(st.Unique) {
		t.Fatalf("sync of the rebuilt index: indexed %d of %d (%v)", n, st.Unique, err)
	}
	ix.Close()
	if _, err := os.Stat(dir + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.new left behind: %v", dir, err)
	}
	if ix, err = Open(dir); err != nil || ix.Replaced() != nil || ix.Created() {
		t.Fatalf("reopened: %v, replaced %v", err, ix != nil && ix.Replaced() != nil)
	}
	ix.Close()

	// Busy is not unreadable: while a reader holds it, a writer fails
	// and leaves it as it is.
	ro, err := OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if w, err := Open(dir); err == nil {
		w.Close()
		t.Fatal("a writer opened the index a reader holds")
	}
	if c, _ := ro.DocCount(); c != uint64(st.Unique) {
		t.Errorf("after the refused writer: %d documents, want %d", c, st.Unique)
	}
	if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); err != nil {
		t.Errorf("the held index was touched: %v", err)
	}
}

// TestIDs: the set IDs returns is what Search finds, and for a needle
// what the sample's manifest says.
func TestIDs(t *testing.T) {
	a := sampleArchive(t)
	ctx := context.Background()
	ix, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := Sync(ctx, a, ix, nil, nil); err != nil {
		t.Fatal(err)
	}
	quokka := bleve.NewMatchQuery("quokka")
	quokka.SetField(FieldBody)
	phrase := bleve.NewMatchPhraseQuery("the quokka photos")
	phrase.SetField(FieldBody)
	notQuokka := query.NewBooleanQuery([]query.Query{bleve.NewMatchAllQuery()}, nil, []query.Query{quokka})
	for name, q := range map[string]query.Query{"all": bleve.NewMatchAllQuery(), "quokka": quokka, "phrase": phrase, "not quokka": notQuokka, "none": bleve.NewMatchNoneQuery()} {
		set, err := ix.IDs(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for id := range set {
			got = append(got, id.String())
		}
		sort.Strings(got)
		if want := search(t, ix, q); !slices.Equal(got, want) {
			t.Errorf("%s: IDs %v, Search %v", name, got, want)
		}
		if name == "quokka" && !slices.Equal(got, sampleIDs(t, "needle:quokka")) {
			t.Errorf("quokka: %v, want %v", got, sampleIDs(t, "needle:quokka"))
		}
	}
}

// TestLargeSyncLeavesOneSegment: a Sync that writes many documents merges
// the index into one segment file and leaves no merged-away file behind.
func TestLargeSyncLeavesOneSegment(t *testing.T) {
	defer func(b, c int) { batchDocs, compactMinDocs = b, c }(batchDocs, compactMinDocs)
	batchDocs, compactMinDocs = 3, 1 // several batches, hence several segments
	a := sampleArchive(t)
	dir := filepath.Join(t.TempDir(), "index")
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Sync(context.Background(), a, ix, nil, nil)
	if err != nil || n < 4*batchDocs {
		t.Fatalf("sync: %d, %v", n, err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	zaps, _ := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
	if len(zaps) != 1 {
		t.Fatalf("%d segment files after indexing %d messages, want 1: %v", len(zaps), n, zaps)
	}
	// Still searchable, all of it.
	ix, err = OpenReadOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if c, _ := ix.DocCount(); c != uint64(n) {
		t.Fatalf("%d documents, want %d", c, n)
	}
}
