package search

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/cjk" // registers the "cjk" analyzer
	"github.com/blevesearch/bleve/v2/index/scorch"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/search/extract"
)

// Index is an open search index.
type Index struct {
	idx      bleve.Index
	path     string
	readOnly bool
	created  bool
	replaced error // why Open replaced an existing index it could not read
}

// indexVersion is the layout of the index documents (the mapping and
// what buildDoc puts in them). An index of another version is rebuilt by
// the next writer; readers refuse it with ErrOldIndex.
//
//	1 (no version key): term vectors on the body, docvalues on date and size
//	2: date_key sorts; no docvalues on date and size; nothing stored
//	3: at most maxTermPositions occurrences of a term per field; no
//	   byte offsets with the positions
//	4: dates and sizes as the keyword levels of keys.go; date_key to the
//	   second; base64url document IDs; merged into one segment after
//	   large syncs
//	5: attachment names also indexed as their suffixes after each dot
//	   (filenameParts); the default mapping disabled
const indexVersion = "5"

// Internal keys of the index (bleve SetInternal), outside the documents.
var (
	keyVersion = []byte("mailark_index_version")
	// keyFresh marks an index whose documents the catalog does not know
	// about yet: set when it is made, cleared once Sync has reset the
	// catalog's "indexed" marks, so a crash in between cannot leave them.
	keyFresh = []byte("mailark_index_fresh")
)

// ErrBusy is returned by OpenReadOnly while another process writes the index.
var ErrBusy = errors.New("the search index is in use by another mailark process (an import or a server)")

// ErrNoIndex is returned by OpenReadOnly when there is no index yet.
var ErrNoIndex = errors.New("the archive has no search index yet (run 'mailark reindex')")

// ErrOldIndex is returned by OpenReadOnly for an index built by another
// version of mailark.
var ErrOldIndex = errors.New("the search index was built by another version of mailark (the next import or 'mailark reindex' rebuilds it)")

// Dir returns the index directory of an archive.
func Dir(archiveDir string) string { return filepath.Join(archiveDir, "index") }

// Open opens the index for writing, creating it when missing and
// replacing it when another version of mailark built it or it cannot be
// read (see Replaced); the next Sync then indexes every message. The
// caller must hold the archive lock (an *archive.Archive opened for
// writing).
func Open(dir string) (*Index, error) {
	idx, err := bleve.OpenUsing(dir, writerConfig)
	switch {
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist):
		return create(dir)
	case isLockTimeout(err):
		// A reader holds it: never a reason to throw it away.
		return nil, fmt.Errorf("opening search index %s: %w", dir, err)
	case err != nil:
		// Unreadable (e.g. left half made by an older mailark that was
		// killed while creating it): the index is derived from the
		// archive, so it is rebuilt rather than failing every import.
		if rerr := Remove(dir); rerr != nil {
			return nil, rerr
		}
		ix, cerr := create(dir)
		if cerr != nil {
			return nil, cerr
		}
		ix.replaced = fmt.Errorf("opening search index %s: %w", dir, err)
		return ix, nil
	}
	v, err := idx.GetInternal(keyVersion)
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("reading search index version: %w", err)
	}
	if string(v) != indexVersion {
		if err := idx.Close(); err != nil {
			return nil, fmt.Errorf("closing old search index %s: %w", dir, err)
		}
		if err := Remove(dir); err != nil {
			return nil, err
		}
		return create(dir)
	}
	fresh, err := idx.GetInternal(keyFresh)
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("reading search index state: %w", err)
	}
	return &Index{idx: idx, path: dir, created: fresh != nil}, nil
}

// writerConfig is Bleve's runtime config for a writer: give up on the
// lock after 2 s rather than wait for a reader forever.
var writerConfig = map[string]any{"bolt_timeout": "2s"}

// isLockTimeout reports whether opening failed because another process
// holds the index (Bleve's bolt store gives up with a timeout error).
func isLockTimeout(err error) bool {
	return err != nil && strings.Contains(err.Error(), "timeout")
}

// create makes a new, empty index of the current version. It is built
// beside dir and renamed into place, so that a process killed meanwhile
// never leaves a half-made index at dir.
func create(dir string) (*Index, error) {
	m, err := NewMapping()
	if err != nil {
		return nil, err
	}
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("creating search index %s: %w", dir, err)
	}
	idx, err := bleve.NewUsing(tmp, m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("creating search index %s: %w", dir, err)
	}
	for _, kv := range [][2][]byte{{keyFresh, []byte("1")}, {keyVersion, []byte(indexVersion)}} {
		if err := idx.SetInternal(kv[0], kv[1]); err != nil {
			idx.Close()
			return nil, fmt.Errorf("creating search index %s: %w", dir, err)
		}
	}
	if err := idx.Close(); err != nil {
		return nil, fmt.Errorf("creating search index %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("creating search index %s: %w", dir, err)
	}
	if idx, err = bleve.OpenUsing(dir, writerConfig); err != nil {
		return nil, fmt.Errorf("opening new search index %s: %w", dir, err)
	}
	return &Index{idx: idx, path: dir, created: true}, nil
}

// Replaced reports why Open replaced an existing index it could not read
// with a new, empty one (nil when it did not): worth a warning, since
// the next Sync reindexes everything.
func (ix *Index) Replaced() error { return ix.replaced }

// OpenReadOnly opens the index for searching without taking it from a
// writer: it fails with ErrBusy within about a second when one holds it.
func OpenReadOnly(dir string) (*Index, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoIndex
	}
	idx, err := bleve.OpenUsing(dir, map[string]any{"read_only": true, "bolt_timeout": "1s"})
	if err != nil {
		if isLockTimeout(err) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("opening search index %s: %w", dir, err)
	}
	v, err := idx.GetInternal(keyVersion)
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("reading search index version: %w", err)
	}
	if string(v) != indexVersion {
		idx.Close()
		return nil, ErrOldIndex
	}
	return &Index{idx: idx, path: dir, readOnly: true}, nil
}

// Remove deletes the index directory, for a rebuild.
func Remove(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing search index: %w", err)
	}
	return nil
}

// Created reports whether Open made a new, empty index: the catalog's
// record of what is indexed then no longer holds (see Sync).
func (ix *Index) Created() bool { return ix.created }

// Close closes the index.
func (ix *Index) Close() error { return ix.idx.Close() }

// DocCount returns the number of documents.
func (ix *Index) DocCount() (uint64, error) { return ix.idx.DocCount() }

// batchDocs bounds one Bleve batch: LIBNOTES measured 200–1000 documents
// as the sweet spot on this hardware. A variable for tests.
var batchDocs = 500

// Sync indexes every message the catalog marks as not indexed. It returns
// the number of documents written. A message whose file cannot be read is
// reported through problem and left unindexed (verify will say so).
func Sync(ctx context.Context, a *archive.Archive, ix *Index, prog progress.Counter, problem func(id archive.ID, err error)) (int, error) {
	if prog == nil {
		prog = progress.Nop{}
	}
	if ix.created {
		// A new index (the old one was removed, or never made) has none of
		// what the catalog says is indexed.
		if err := a.ResetIndexed(ctx); err != nil {
			return 0, err
		}
		if err := ix.idx.DeleteInternal(keyFresh); err != nil {
			return 0, fmt.Errorf("writing search index state: %w", err)
		}
		ix.created = false
	}
	total := 0
	seenFailed := map[archive.ID]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		items, err := a.Unindexed(ctx, batchDocs+len(seenFailed))
		if err != nil {
			return total, err
		}
		var todo []archive.IndexItem
		for _, it := range items {
			if !seenFailed[it.ID] {
				todo = append(todo, it)
			}
		}
		if len(todo) == 0 {
			return total, ix.compactAfter(ctx, total)
		}
		b := ix.idx.NewBatch()
		var done []archive.IndexItem
		for _, it := range todo {
			doc, err := buildDoc(it)
			if err != nil {
				seenFailed[it.ID] = true
				if problem != nil {
					problem(it.ID, err)
				}
				continue
			}
			if err := b.Index(docID(it.ID), doc); err != nil {
				return total, fmt.Errorf("indexing %s: %w", it.ID.Short(), err)
			}
			done = append(done, it)
			prog.Add(1, it.Size)
		}
		if err := ix.idx.Batch(b); err != nil {
			return total, fmt.Errorf("writing search index: %w", err)
		}
		if err := a.MarkIndexed(ctx, done); err != nil {
			return total, err
		}
		total += len(done)
	}
}

// docID is the document ID of a message: its SHA-256 in unpadded
// base64url, which the index keeps twice per message (in the dictionary
// and the stored section): 43 bytes instead of the 64 of hex.
func docID(id archive.ID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func parseDocID(s string) (archive.ID, error) {
	var id archive.ID
	if n, err := base64.RawURLEncoding.Decode(id[:], []byte(s)); err != nil || n != len(id) || len(s) != base64.RawURLEncoding.EncodedLen(len(id)) {
		return id, fmt.Errorf("index has a bad document id %q", s)
	}
	return id, nil
}

// compactAfter merges the index into one segment after a Sync that wrote
// n documents, when they are at least a quarter of the index (a reindex,
// a first import, a large one). Scorch otherwise leaves a few segments,
// each with its own dictionaries: one is 10 % smaller and cheaper to
// search. It costs about a twentieth of the indexing time; after a small
// import it would rewrite the whole index for little, so it is skipped.
func (ix *Index) compactAfter(ctx context.Context, n int) error {
	docs, err := ix.idx.DocCount()
	if err != nil {
		return fmt.Errorf("compacting search index: %w", err)
	}
	if n < compactMinDocs || uint64(n)*4 < docs {
		return nil
	}
	adv, err := ix.idx.Advanced()
	if err != nil {
		return fmt.Errorf("compacting search index: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	if err := s.ForceMerge(ctx, nil); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("compacting search index: %w", err)
	}
	// Scorch deletes the merged-away segment files in the background once
	// it has persisted the new root; closing before that leaves them on
	// disk (doubling the index) until some later writer cleans up. Give
	// it a moment: the segment file and root.bolt are what should remain.
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait) && ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		if files, ok := s.StatsMap()["CurOnDiskFiles"].(uint64); !ok || files <= 2 {
			break
		}
	}
	return nil
}

// compactMinDocs: below this, a Sync leaves the segments as they are. A
// variable for tests.
var compactMinDocs = 1000

// buildDoc reads the message file and turns it into an index document.
func buildDoc(it archive.IndexItem) (map[string]any, error) {
	f, err := os.Open(it.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := extract.Extract(f, nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", it.Path, err)
	}
	date := d.Date
	if date.IsZero() {
		date = it.InternalDate
	}
	doc := map[string]any{
		"_type":            docType,
		FieldSubject:       d.Subject,
		FieldBody:          d.Body,
		FieldDate:          DateTerms(date),
		FieldDateKey:       DateKey(date, it.ID),
		FieldSize:          SizeTerms(it.Size),
		FieldMessageID:     strings.Trim(d.MessageID, "<>"),
		FieldFolder:        it.FolderNames,
		FieldAccountFolder: it.Folders,
		FieldAccount:       it.Accounts,
		FieldFlags:         it.Flags,
		FieldHasAttachment: len(d.Attachments) > 0,
	}
	if doc[FieldMessageID] == "" {
		doc[FieldMessageID] = it.MessageID
	}
	for _, x := range []struct {
		text, addr string
		list       []extract.Address
	}{{FieldFrom, FieldFromAddr, d.From}, {FieldTo, FieldToAddr, d.To}, {FieldCc, FieldCcAddr, d.Cc}, {FieldBcc, FieldBccAddr, d.Bcc}} {
		var text, addrs []string
		for _, ad := range x.list {
			if ad.Name != "" {
				text = append(text, ad.Name)
			}
			if ad.Addr != "" {
				text = append(text, ad.Addr)
				addrs = append(addrs, strings.ToLower(ad.Addr))
			}
		}
		doc[x.text] = strings.Join(text, " ")
		doc[x.addr] = addrs
	}
	var names, types []string
	for _, at := range d.Attachments {
		if at.Filename != "" {
			names = append(names, at.Filename)
		}
		if at.ContentType != "" {
			types = append(types, at.ContentType)
		}
	}
	doc[FieldFilename] = strings.Join(names, " ")
	doc[FieldAttachType] = types
	return doc, nil
}

// Sort orders for Search.
const (
	SortDateDesc  = "-date"
	SortDateAsc   = "date"
	SortRelevance = "relevance"
)

// Hit is one search result.
type Hit struct {
	ID    archive.ID
	Score float64
}

// Search runs q and returns up to limit hits and the total number of
// matches.
func (ix *Index) Search(ctx context.Context, q query.Query, limit int, sortBy string) ([]Hit, uint64, error) {
	req := bleve.NewSearchRequestOptions(q, limit, 0, false)
	switch sortBy {
	case SortDateDesc, "", SortDateAsc:
		req.SortByCustom(bsearch.SortOrder{&bsearch.SortField{Field: FieldDateKey, Type: bsearch.SortFieldAsString, Desc: sortBy != SortDateAsc}})
		// No scores: they would not be used, and without them Bleve
		// answers disjunctions and conjunctions of terms (date and size
		// ranges among them) with bitmap operations.
		req.Score = bleve.ScoreNone
	case SortRelevance:
		req.SortBy([]string{"-_score"})
	default:
		return nil, 0, fmt.Errorf("unknown sort order %q (want date, -date or relevance)", sortBy)
	}
	if limit <= 0 {
		// Only the count: no order, no scores, no doc values.
		req.SortBy([]string{"-_score"})
		req.Score = bleve.ScoreNone
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("searching: %w", err)
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		id, err := parseDocID(h.ID)
		if err != nil {
			return nil, 0, err
		}
		hits = append(hits, Hit{ID: id, Score: h.Score})
	}
	return hits, res.Total, nil
}

// IDs returns the set of messages q matches. It skips what Search does
// for an order (scores, sort keys, a heap of hits), for callers that want
// a set, such as the IMAP server's SEARCH TEXT.
func (ix *Index) IDs(ctx context.Context, q query.Query) (map[archive.ID]bool, error) {
	ii, err := ix.idx.Advanced()
	if err != nil {
		return nil, fmt.Errorf("searching: %w", err)
	}
	r, err := ii.Reader()
	if err != nil {
		return nil, fmt.Errorf("searching: %w", err)
	}
	defer r.Close()
	s, err := q.Searcher(ctx, r, ix.idx.Mapping(), bsearch.SearcherOptions{Score: bleve.ScoreNone})
	if err != nil {
		return nil, fmt.Errorf("searching: %w", err)
	}
	defer s.Close()
	sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0), IndexReader: r}
	out := map[archive.ID]bool{}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		dm, err := s.Next(sctx)
		if err != nil {
			return nil, fmt.Errorf("searching: %w", err)
		}
		if dm == nil {
			return out, nil
		}
		ext, err := r.ExternalID(dm.IndexInternalID)
		if err != nil {
			return nil, fmt.Errorf("searching: %w", err)
		}
		id, err := parseDocID(ext)
		if err != nil {
			return nil, err
		}
		out[id] = true
		sctx.DocumentMatchPool.Put(dm)
	}
}
