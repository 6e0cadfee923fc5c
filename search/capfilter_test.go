package search

import (
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
)

// The cap keeps the first occurrences of a repeated term, with their
// positions, and every other term.
func TestCapPositions(t *testing.T) {
	var in analysis.TokenStream
	for i := range 10 {
		in = append(in, &analysis.Token{Term: []byte("echo"), Position: 2*i + 1})
		in = append(in, &analysis.Token{Term: []byte{byte('a' + i)}, Position: 2*i + 2})
	}
	out := capPositions{max: 3}.Filter(in)
	var got []string
	for _, tok := range out {
		got = append(got, string(tok.Term))
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
