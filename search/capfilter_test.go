package search

import (
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
)

// The cap keeps the first occurrences of a repeated term, with their
// positions, and every other term; no token keeps its byte offsets.
func TestCapPositions(t *testing.T) {
	var in analysis.TokenStream
	for i := range 10 {
		in = append(in, &analysis.Token{Term: []byte("echo"), Position: 2*i + 1, Start: 10 * i, End: 10*i + 4})
		in = append(in, &analysis.Token{Term: []byte{byte('a' + i)}, Position: 2*i + 2})
	}
	out := capPositions{max: 3}.Filter(in)
	var got []string
	for _, tok := range out {
		got = append(got, string(tok.Term))
		if tok.Start != 0 || tok.End != 0 {
			t.Errorf("%s at %d keeps its offsets %d-%d", tok.Term, tok.Position, tok.Start, tok.End)
		}
		if string(tok.Term) == "echo" && tok.Position > 5 {
			t.Errorf("kept echo at position %d, beyond the first 3", tok.Position)
		}
	}
	if want := "echo a echo b echo c d e f g h i j"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	short := analysis.TokenStream{{Term: []byte("x")}, {Term: []byte("x")}, {Term: []byte("x")}}
	if len(capPositions{max: 3}.Filter(short)) != 3 {
		t.Errorf("a stream no longer than the cap was changed")
	}
}
