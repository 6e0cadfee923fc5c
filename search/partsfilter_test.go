package search

import (
	"fmt"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
)

func terms(ts analysis.TokenStream) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "%s@%d ", t.Term, t.Position)
	}
	return strings.TrimSpace(b.String())
}

// Each name with dots is followed by its suffixes after each dot, at its
// position; names without dots pass unchanged.
func TestFilenameParts(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"report", "report@1"},
		{"data.tar.gz notes", "data.tar.gz@1 tar.gz@1 gz@1 notes@2"},
		{"a..b c. .d", "a..b@1 .b@1 b@1 c.@2 .d@3 d@3"},
	} {
		var in analysis.TokenStream
		for i, w := range strings.Fields(tt.in) {
			in = append(in, &analysis.Token{Term: []byte(w), Position: i + 1})
		}
		if got := terms(filenameParts{}.Filter(in)); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A name of many parts keeps the suffixes after its last maxPartsPerTerm
// dots, and one value gains at most maxPartsPerValue of them.
func TestFilenamePartsBounds(t *testing.T) {
	long := strings.Repeat("x.", 100) + "pdf"
	out := filenameParts{}.Filter(analysis.TokenStream{{Term: []byte(long), Position: 1}})
	if len(out) != 1+maxPartsPerTerm {
		t.Fatalf("%d tokens, want %d", len(out), 1+maxPartsPerTerm)
	}
	if got := string(out[len(out)-1].Term); got != "pdf" {
		t.Errorf("last suffix %q, want pdf", got)
	}
	if got, want := string(out[1].Term), strings.Repeat("x.", maxPartsPerTerm-1)+"pdf"; got != want {
		t.Errorf("longest suffix %q, want %q", got, want)
	}
	var in analysis.TokenStream
	for i := range 2 * maxPartsPerValue / maxPartsPerTerm {
		in = append(in, &analysis.Token{Term: []byte(long), Position: i + 1})
	}
	if got, want := len(filenameParts{}.Filter(in)), len(in)+maxPartsPerValue; got != want {
		t.Errorf("%d tokens from %d names, want %d", got, len(in), want)
	}
}
