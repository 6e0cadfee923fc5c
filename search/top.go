package search

import (
	"context"

	bq "github.com/blevesearch/bleve/v2/search/query"
	"github.com/mailark/mailark/archive"
)

// SearchTop is Search for a first page of hits in date order, which is
// what the search command shows. It returns the same hits as Search, but
// for a query with phrases it may not count every match: total is then
// an upper bound, and exact is false.
//
// Why: checking a phrase reads the positions of its words in every
// message that has them all. For a phrase of common words that is most
// of the archive ("the migration is complete" in 54,000 of 100,000
// messages: 170 ms), while the first page needs a few dozen. So the
// query is first run with each phrase relaxed to its words (a superset,
// answered from the postings alone), the newest candidates are checked
// against the real query; if too few pass, more are taken, or, when the
// share that passed says most would be needed, the exact search is run.
func (ix *Index) SearchTop(ctx context.Context, q bq.Query, limit int, sortBy string) (hits []Hit, total uint64, exact bool, err error) {
	relaxed, changed := relaxPhrases(q)
	if !changed || limit <= 0 || sortBy == SortRelevance {
		hits, total, err := ix.Search(ctx, q, limit, sortBy)
		return hits, total, true, err
	}
	for k := max(2*limit, 100); ; {
		cands, ctotal, err := ix.Search(ctx, relaxed, k, sortBy)
		if err != nil {
			return nil, 0, false, err
		}
		ok, err := ix.matching(ctx, q, cands)
		if err != nil {
			return nil, 0, false, err
		}
		hits = hits[:0]
		for _, c := range cands {
			if ok[c.ID] {
				hits = append(hits, c)
			}
		}
		if uint64(len(cands)) >= ctotal {
			// Every candidate was checked: the count is exact.
			return hits[:min(limit, len(hits))], uint64(len(hits)), true, nil
		}
		if len(hits) >= limit {
			return hits[:limit], ctotal, false, nil
		}
		// Too few passed. Take twice the candidates that the share that
		// passed says a page needs; when that is most of them, the exact
		// search is cheaper than another round.
		need := ctotal
		if len(hits) > 0 {
			need = uint64(len(cands)) * 2 * uint64(limit) / uint64(len(hits))
		}
		if need*2 >= ctotal {
			hits, total, err := ix.Search(ctx, q, limit, sortBy)
			return hits, total, true, err
		}
		k = int(need)
	}
}

// matching returns which of cands match q, checking only those.
func (ix *Index) matching(ctx context.Context, q bq.Query, cands []Hit) (map[archive.ID]bool, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = docID(c.ID)
	}
	return ix.IDs(ctx, bq.NewConjunctionQuery([]bq.Query{bq.NewDocIDQuery(ids), q}))
}

// relaxPhrases returns q with every phrase that is not under a negation
// replaced by the conjunction of its words, which matches every message
// q matches (and maybe more); changed reports whether there was one. q
// itself is not modified.
func relaxPhrases(q bq.Query) (out bq.Query, changed bool) {
	list := func(qs []bq.Query) ([]bq.Query, bool) {
		var out []bq.Query
		for i, c := range qs {
			r, ch := relaxPhrases(c)
			if ch && out == nil {
				out = append(make([]bq.Query, 0, len(qs)), qs[:i]...)
			}
			if out != nil {
				out = append(out, r)
			}
		}
		if out == nil {
			return qs, false
		}
		return out, true
	}
	switch q := q.(type) {
	case *bq.MatchPhraseQuery:
		m := bq.NewMatchQuery(q.MatchPhrase)
		m.SetField(q.FieldVal)
		m.Analyzer = q.Analyzer
		m.SetOperator(bq.MatchQueryOperatorAnd)
		return m, true
	case *bq.ConjunctionQuery:
		cs, ch := list(q.Conjuncts)
		if !ch {
			return q, false
		}
		n := *q
		n.Conjuncts = cs
		return &n, true
	case *bq.DisjunctionQuery:
		ds, ch := list(q.Disjuncts)
		if !ch {
			return q, false
		}
		n := *q
		n.Disjuncts = ds
		return &n, true
	case *bq.BooleanQuery:
		// MustNot stays as it is: relaxing a phrase there would exclude
		// more, not less.
		n := *q
		var ch1, ch2, ch3 bool
		if q.Must != nil {
			n.Must, ch1 = relaxPhrases(q.Must)
		}
		if q.Should != nil {
			n.Should, ch2 = relaxPhrases(q.Should)
		}
		if q.Filter != nil {
			n.Filter, ch3 = relaxPhrases(q.Filter)
		}
		if !ch1 && !ch2 && !ch3 {
			return q, false
		}
		return &n, true
	}
	return q, false
}
