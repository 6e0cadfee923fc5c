package search

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
)

// maxTermPositions is how many occurrences of one term one field of one
// message indexes. Bleve's phrase matching walks every combination of the
// phrase words' positions in a document, so a message that repeats a few
// words a hundred thousand times (testdata/hostile/long-line.eml) made one
// phrase search take 40 s; capped, it is bounded. Plain word queries do
// not care how often a word occurs, and real mail that repeats a word
// more often than this is rare; a phrase is only missed when all its
// occurrences come after the cap.
const maxTermPositions = 1000

const capFilterName = "mailark_cap_positions"

// capPositions drops the occurrences of a term beyond max in one token
// stream (one field value), and zeroes every token's byte offsets.
//
// The offsets are only for highlighting, which mailark does not do, but
// the index stores them with every position as varints: zero takes one
// byte instead of two or three, which made the 10,000-message bench index
// 15 % smaller (48.3 -> 40.9 MB, merged). Phrases use positions only.
type capPositions struct{ max int }

func (f capPositions) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Start, t.End = 0, 0
	}
	if len(in) <= f.max {
		return in // no term can exceed the cap
	}
	seen := make(map[string]*int, 256)
	out := in[:0]
	for _, t := range in {
		n := seen[string(t.Term)] // no allocation on lookup
		if n == nil {
			n = new(int)
			seen[string(t.Term)] = n
		}
		if *n++; *n <= f.max {
			out = append(out, t)
		}
	}
	return out
}

func init() {
	err := registry.RegisterTokenFilter(capFilterName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return capPositions{max: maxTermPositions}, nil
	})
	if err != nil {
		panic(err)
	}
}
