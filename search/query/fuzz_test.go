package query

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxError with a position inside the input, that the canonical form
// of a parsed query parses back to the same tree and String, and that the
// compiled query is accepted by Bleve.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range parseErrorTests {
		f.Add(tt.in)
	}
	for _, tt := range searchTests {
		f.Add(tt.q)
	}
	for _, s := range []string{
		`a OR -(b "c d" OR e*) f:g size:1k..2M date:2019-01..2020 account:x folder:y`,
		`"\\" "\"" \ \\ "\x"`,
		"-\u3000a", "a\u00a0b", "\u2028", "x:\"\"", "from:\"a", "*:*", "-\"\"",
	} {
		f.Add(s)
	}
	idx, err := testIndex()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q): %T %v, want a *SyntaxError", s, err, err)
			}
			if se.Pos < 0 || se.Pos > len(s) {
				t.Fatalf("Parse(%q): position %d outside the input", s, se.Pos)
			}
			return
		}
		c := n.String()
		n2, err := Parse(c)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", c, s, err)
		}
		if c2 := n2.String(); c2 != c {
			t.Fatalf("canonical form of %q: %q reparses as %q", s, c, c2)
		}
		if !reflect.DeepEqual(n, n2) {
			t.Fatalf("canonical form %q of %q reparses to %#v, want %#v", c, s, n2, n)
		}
		q, err := Compile(n, Options{Location: time.UTC})
		if err != nil {
			t.Fatalf("Compile(Parse(%q)): %v", s, err)
		}
		if _, err := idx.Search(bleve.NewSearchRequestOptions(q, 1, 0, false)); err != nil {
			t.Fatalf("search for %q: %v", s, err)
		}
	})
}
