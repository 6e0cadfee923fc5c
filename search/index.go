package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/cjk" // registers the "cjk" analyzer
	"github.com/blevesearch/bleve/v2/index/scorch"
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
}

// ErrBusy is returned by OpenReadOnly while another process writes the index.
var ErrBusy = errors.New("the search index is in use by another mailark process (an import or a server)")

// ErrNoIndex is returned by OpenReadOnly when there is no index yet.
var ErrNoIndex = errors.New("the archive has no search index yet (run 'mailark reindex')")

// Dir returns the index directory of an archive.
func Dir(archiveDir string) string { return filepath.Join(archiveDir, "index") }

// Open opens the index for writing, creating it when missing. The caller
// must hold the archive lock (an *archive.Archive opened for writing).
func Open(dir string) (*Index, error) {
	idx, err := bleve.OpenUsing(dir, map[string]any{"bolt_timeout": "2s"})
	created := false
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		m, merr := NewMapping()
		if merr != nil {
			return nil, merr
		}
		idx, err = bleve.NewUsing(dir, m, scorch.Name, scorch.Name, nil)
		created = true
	}
	if err != nil {
		return nil, fmt.Errorf("opening search index %s: %w", dir, err)
	}
	return &Index{idx: idx, path: dir, created: created}, nil
}

// OpenReadOnly opens the index for searching without taking it from a
// writer: it fails with ErrBusy within about a second when one holds it.
func OpenReadOnly(dir string) (*Index, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoIndex
	}
	idx, err := bleve.OpenUsing(dir, map[string]any{"read_only": true, "bolt_timeout": "1s"})
	if err != nil {
		if strings.Contains(err.Error(), "timeout") {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("opening search index %s: %w", dir, err)
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
// as the sweet spot on this hardware.
const batchDocs = 500

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
			return total, nil
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
			if err := b.Index(it.ID.String(), doc); err != nil {
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
		FieldDate:          date.UTC(),
		FieldSize:          float64(it.Size),
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
	case SortDateDesc, "":
		req.SortBy([]string{"-" + FieldDate})
	case SortDateAsc:
		req.SortBy([]string{FieldDate})
	case SortRelevance:
		req.SortBy([]string{"-_score"})
	default:
		return nil, 0, fmt.Errorf("unknown sort order %q (want date, -date or relevance)", sortBy)
	}
	res, err := ix.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, 0, fmt.Errorf("searching: %w", err)
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		id, err := archive.ParseID(h.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("index has a bad document id %q", h.ID)
		}
		hits = append(hits, Hit{ID: id, Score: h.Score})
	}
	return hits, res.Total, nil
}
