package mbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// benchMbox is a 50 MB mboxrd of plausible messages: headers, 72-column
// text with paragraphs and the odd quoted From_ line, 2 to 200 KB each.
var benchMbox = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(5, 6))
	words := strings.Fields("the quick brown fox jumps over lazy dog mail archive From offline message")
	var out bytes.Buffer
	w := NewWriter(&out)
	var msg bytes.Buffer
	for i := 0; out.Len() < 50<<20; i++ {
		msg.Reset()
		fmt.Fprintf(&msg, "From: a%d@example.org\nTo: b@example.org\nSubject: message %d\nMessage-ID: <%d@example.org>\n\n", i, i, i)
		for size := 2<<10 + rng.IntN(200<<10); msg.Len() < size; {
			line := 0
			for line < 72 {
				word := words[rng.IntN(len(words))]
				msg.WriteString(word + " ")
				line += len(word) + 1
			}
			msg.WriteByte('\n')
			if rng.IntN(8) == 0 {
				msg.WriteByte('\n')
			}
		}
		if _, err := w.WriteMessage("a@example.org", date2006, &msg); err != nil {
			panic(err)
		}
	}
	return out.Bytes()
})

func BenchmarkReader(b *testing.B) {
	data := benchMbox()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), ReaderOptions{})
		for {
			m, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, m.Body); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkWriter(b *testing.B) {
	data := benchMbox()
	msgs, _ := readAll(b, NewReader(bytes.NewReader(data), ReaderOptions{}))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := NewWriter(io.Discard)
		for _, m := range msgs {
			if _, err := w.WriteMessage("a@example.org", date2006, strings.NewReader(m.Body)); err != nil {
				b.Fatal(err)
			}
		}
	}
}
