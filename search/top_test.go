package search

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bq "github.com/blevesearch/bleve/v2/search/query"
	"github.com/mailark/mailark/archive"
)

// TestSearchTop: SearchTop gives the same first hits as Search, with an
// exact count when it checked every candidate and an upper bound
// otherwise. A third of the messages have the phrase, a third its words
// in another order (candidates that fail), a third neither.
func TestSearchTop(t *testing.T) {
	ix, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	const n = 900
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	b := ix.idx.NewBatch()
	for i := 0; i < n; i++ {
		id := archive.ID(sha256.Sum256([]byte(fmt.Sprint(i))))
		body := [...]string{"alpha beta gamma", "beta alpha gamma", "delta"}[(i*7)%3]
		// Few candidates of "omega psi" have the phrase: 1 in 9 messages,
		// against 5 in 9 with both words.
		body += " " + [...]string{"omega psi", "psi omega", "psi x omega", "omega x psi", "psi omega", "omega y psi", "z", "z", "z"}[(i*5)%9]
		d := base.Add(time.Duration(i*13%n) * time.Hour)
		if err := b.Index(docID(id), map[string]any{"_type": docType, FieldBody: body, FieldSubject: "s", FieldDateKey: DateKey(d, id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.idx.Batch(b); err != nil {
		t.Fatal(err)
	}
	phrase := bq.NewMatchPhraseQuery("alpha beta")
	phrase.SetField(FieldBody)
	s := bq.NewMatchQuery("s")
	s.SetField(FieldSubject)
	notPhrase := bq.NewBooleanQuery([]bq.Query{s}, nil, []bq.Query{phrase})
	rare := bq.NewMatchPhraseQuery("omega psi")
	rare.SetField(FieldBody)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		q         bq.Query
		wantTotal uint64
	}{
		{"phrase", phrase, n / 3},
		{"phrase in a disjunction", bq.NewDisjunctionQuery([]bq.Query{phrase, bq.NewMatchNoneQuery()}), n / 3},
		{"negated phrase", notPhrase, n - n/3},
		{"phrase few candidates have", rare, n / 9},
	} {
		for _, sortBy := range []string{SortDateDesc, SortDateAsc} {
			for _, limit := range []int{1, 10, 20, 25, 49, 50, 51, 200, 299, 300, 301, n} {
				want, total, err := ix.Search(ctx, tc.q, limit, sortBy)
				if err != nil || total != tc.wantTotal {
					t.Fatalf("%s: Search: total %d (want %d), %v", tc.name, total, tc.wantTotal, err)
				}
				got, gtotal, exact, err := ix.SearchTop(ctx, tc.q, limit, sortBy)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s, %s, limit %d: SearchTop gives %d hits, not those of Search (%d)", tc.name, sortBy, limit, len(got), len(want))
				}
				if exact && gtotal != total || !exact && gtotal < total {
					t.Errorf("%s, %s, limit %d: total %d (exact %v), want %d", tc.name, sortBy, limit, gtotal, exact, total)
				}
				if tc.name == "phrase" && limit <= 50 && exact {
					t.Errorf("%s, limit %d: checked every candidate for a first page", tc.name, limit)
				}
			}
		}
	}
}

// TestRelaxPhrases: phrases become conjunctions of their words, except
// under a negation, and the query given is left as it was.
func TestRelaxPhrases(t *testing.T) {
	phrase := func() *bq.MatchPhraseQuery {
		p := bq.NewMatchPhraseQuery("alpha beta")
		p.SetField(FieldBody)
		return p
	}
	q := bq.NewBooleanQuery([]bq.Query{bq.NewDisjunctionQuery([]bq.Query{phrase(), bq.NewMatchAllQuery()})}, nil, []bq.Query{phrase()})
	before := mustJSON(t, q)
	r, changed := relaxPhrases(q)
	if !changed {
		t.Fatal("not changed")
	}
	if mustJSON(t, q) != before {
		t.Errorf("the query was modified: %s", mustJSON(t, q))
	}
	want := `{"must":{"conjuncts":[{"disjuncts":[{"match":"alpha beta","field":"body","prefix_length":0,"fuzziness":0,"operator":"and"},{"boost":null,"match_all":{}}],"min":0}]},"must_not":{"disjuncts":[{"match_phrase":"alpha beta","field":"body","fuzziness":0}],"min":0}}`
	if got := mustJSON(t, r); got != want {
		t.Errorf("relaxed:\n%s\nwant\n%s", got, want)
	}
	if _, changed := relaxPhrases(bq.NewBooleanQuery(nil, nil, []bq.Query{phrase()})); changed {
		t.Error("a phrase only under a negation was relaxed")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
