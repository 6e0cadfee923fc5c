package extract

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// repeatReader streams head, then unit repeated n times, then tail,
// without allocating, so the allocations measured are the extractor's.
type repeatReader struct {
	parts [][]byte
	reps  []int
	i     int
	off   int
}

func newRepeatReader(head string, unit string, n int, tail string) *repeatReader {
	return &repeatReader{
		parts: [][]byte{[]byte(head), []byte(unit), []byte(tail)},
		reps:  []int{1, n, 1},
	}
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.i < len(r.parts) {
		if r.reps[r.i] == 0 {
			r.i++
			continue
		}
		c := copy(p[n:], r.parts[r.i][r.off:])
		n += c
		r.off += c
		if r.off == len(r.parts[r.i]) {
			r.off = 0
			r.reps[r.i]--
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// measure runs Extract and reports the bytes allocated during the call.
func measure(t *testing.T, r io.Reader, opts *Options) (*Doc, uint64, time.Duration) {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	d, err := Extract(r, opts)
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	checkInvariants(t, d, opts)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %.2f MB in %v", float64(alloc)/(1<<20), el)
	return d, alloc, el
}

const (
	mb = 1 << 20
	// maxDuration keeps limit tests honest yet tolerant of a busy
	// 2-core machine; they normally take well under a second.
	maxDuration = 10 * time.Second
)

func TestLimitNestedMultiparts(t *testing.T) {
	const levels = 10000
	var b bytes.Buffer
	b.WriteString("Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 0; i < levels; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nlevel %d text\r\n", i, i)
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
	}
	b.WriteString("--b10000\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n")
	for i := levels; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	input := b.Bytes()

	d, alloc, el := measure(t, bytes.NewReader(input), nil)
	if d.Subject != "deep" {
		t.Errorf("Subject = %q", d.Subject)
	}
	if !strings.Contains(d.Body, "level 0 text") || !strings.Contains(d.Body, "level 48 text") {
		t.Errorf("shallow levels missing from body (%d bytes)", len(d.Body))
	}
	if strings.Contains(d.Body, "innermost") || strings.Contains(d.Body, "level 60 text") {
		t.Errorf("text beyond MaxDepth indexed")
	}
	if !hasProblem(d, "nesting deeper than 50 levels") {
		t.Errorf("no depth problem in %q", d.Problems)
	}
	if alloc > 2*mb {
		t.Errorf("allocated %d bytes for a %d-byte message", alloc, len(input))
	}
	if el > maxDuration {
		t.Errorf("took %v", el)
	}

	// Also within the limit: 10,000 sibling-free levels with a high
	// MaxDepth still use an explicit stack, not the call stack.
	d, _, el = measure(t, bytes.NewReader(input), &Options{MaxDepth: 20000, MaxParts: 30000})
	if !strings.Contains(d.Body, "innermost") || hasProblem(d, "nesting") {
		t.Errorf("deep walk incomplete: problems %q", d.Problems)
	}
	if el > maxDuration {
		t.Errorf("took %v", el)
	}
}

func TestLimitNestedMessages(t *testing.T) {
	const levels = 10000
	head := strings.Repeat("Content-Type: message/rfc822\r\n\r\n", levels)
	d, alloc, _ := measure(t, strings.NewReader("Subject: top\r\n"+head+"Subject: inner\r\n\r\ntext\r\n"), nil)
	if d.Subject != "top" || !hasProblem(d, "nesting deeper") {
		t.Errorf("Subject %q, problems %q", d.Subject, d.Problems)
	}
	if alloc > 2*mb {
		t.Errorf("allocated %d bytes", alloc)
	}
}

func TestLimitLargeAttachment(t *testing.T) {
	const size = 50 * mb
	// 57 bytes per base64 line of 76 characters.
	line := b64(strings.Repeat("\x00\xffA", 19)) + "\r\n"
	n := size / 57
	head := msg("Subject: big", "Content-Type: multipart/mixed; boundary=b", "",
		"--b", "Content-Type: text/plain", "", "small body",
		"--b", "Content-Type: application/octet-stream", "Content-Disposition: attachment; filename=big.bin",
		"Content-Transfer-Encoding: base64", "")
	r := newRepeatReader(head, line, n, "--b--\r\n")
	d, alloc, el := measure(t, r, nil)
	if d.Body != "small body" {
		t.Errorf("Body = %q", d.Body)
	}
	if len(d.Attachments) != 1 || d.Attachments[0].Size != int64(n*57) || d.Attachments[0].Filename != "big.bin" {
		t.Errorf("Attachments = %+v, want size %d", d.Attachments, n*57)
	}
	if alloc > 4*mb {
		t.Errorf("allocated %d bytes for a %d-byte attachment", alloc, n*57)
	}
	if el > maxDuration {
		t.Errorf("took %v", el)
	}
}

func TestLimitLargeTextBody(t *testing.T) {
	// 100 MB of text in one part: Body stops at MaxBodyText, the rest is
	// drained.
	line := strings.Repeat("lorem ipsum ", 8) + "\r\n"
	r := newRepeatReader(msg("Subject: long", "Content-Type: text/plain; charset=utf-8", ""), line, 100*mb/len(line), "")
	d, alloc, el := measure(t, r, bytesOnly)
	if len(d.Body) < DefaultMaxBodyText-len(line) || len(d.Body) > DefaultMaxBodyText {
		t.Errorf("Body is %d bytes", len(d.Body))
	}
	if !hasProblem(d, "truncated") {
		t.Errorf("no truncation problem: %q", d.Problems)
	}
	// The body buffer grows by doubling up to 2 MiB (4 MiB in all), plus
	// the final string; the rest is fixed.
	if alloc > 3*DefaultMaxBodyText+mb {
		t.Errorf("allocated %d bytes", alloc)
	}
	if el > maxDuration {
		t.Errorf("took %v", el)
	}
}

func TestLimitHugeHeader(t *testing.T) {
	// 100 MB of header fields after the ones that matter.
	filler := "X-Filler: " + strings.Repeat("f", 90) + "\r\n"
	head := msg("Subject: survives", "From: a@example.com", "Content-Type: text/plain; charset=utf-8")
	r := newRepeatReader(head, filler, 100*mb/len(filler), "\r\nbody after a huge header\r\n")
	d, alloc, el := measure(t, r, nil)
	if d.Subject != "survives" || len(d.From) != 1 {
		t.Errorf("Subject %q From %+v", d.Subject, d.From)
	}
	if d.Body != "body after a huge header\n" {
		t.Errorf("Body = %q", d.Body)
	}
	if !hasProblem(d, "header exceeds") {
		t.Errorf("no header problem: %q", d.Problems)
	}
	if alloc > 4*mb {
		t.Errorf("allocated %d bytes", alloc)
	}
	if el > maxDuration {
		t.Errorf("took %v", el)
	}
}

func TestLimitLongLines(t *testing.T) {
	long := strings.Repeat("word ", mb/5)
	t.Run("header line", func(t *testing.T) {
		r := newRepeatReader("Subject: ", "word ", mb/5, "\r\n\r\nbody\r\n")
		d, alloc, _ := measure(t, r, nil)
		if len(d.Subject) < mb-10 || d.Body != "body\n" {
			t.Errorf("Subject %d bytes, Body %q", len(d.Subject), d.Body)
		}
		if alloc > 16*mb {
			t.Errorf("allocated %d bytes", alloc)
		}
	})
	t.Run("body line in a multipart", func(t *testing.T) {
		raw := msg("Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: text/plain", "", long,
			"--b", "Content-Type: application/pdf; name=x.pdf", "", long, "--b--")
		d, _, _ := measure(t, strings.NewReader(raw), bytesOnly)
		if d.Body != long {
			t.Errorf("Body is %d bytes, want %d", len(d.Body), len(long))
		}
		if len(d.Attachments) != 1 || d.Attachments[0].Size != int64(len(long)) {
			t.Errorf("Attachments = %+v", d.Attachments)
		}
	})
	t.Run("html line", func(t *testing.T) {
		raw := msg("Content-Type: text/html", "", "<p>"+long+"</p><img src=\"data:image/png;base64,"+strings.Repeat("A", 3*mb)+"\"><p>after</p>")
		d, _, _ := measure(t, strings.NewReader(raw), &Options{MaxBodyText: mb + 10})
		if !strings.HasPrefix(d.Body, "word word") {
			t.Errorf("Body starts %q", d.Body[:min(20, len(d.Body))])
		}
	})
	t.Run("data URI larger than the token limit is skipped", func(t *testing.T) {
		raw := msg("Content-Type: text/html", "", "<p>before</p><img src=\"data:image/png;base64,"+strings.Repeat("A", 2*mb)+"\"><p>after</p>")
		d, _, _ := measure(t, strings.NewReader(raw), &Options{MaxBodyText: 1000})
		if d.Body != "before\nafter" || !hasProblem(d, "HTML token larger") {
			t.Errorf("Body %q, problems %q", d.Body, d.Problems)
		}
	})
}

// bytesOnly lifts the word limit, for tests of the byte limit.
var bytesOnly = &Options{MaxBodyWords: 1 << 30}

func TestLimitBodyWords(t *testing.T) {
	// 4 MB of one-letter words: the word limit cuts first, at a word
	// boundary, long before the byte limit.
	r := newRepeatReader(msg("Subject: words", "Content-Type: text/plain; charset=utf-8", ""), "a b c d\r\n", 4*mb/9, "")
	d, _, _ := measure(t, r, nil)
	if n := len(strings.Fields(d.Body)); n != DefaultMaxBodyWords {
		t.Errorf("Body has %d words, want %d", n, DefaultMaxBodyWords)
	}
	if !hasProblem(d, "truncated at 150000 words") {
		t.Errorf("no word truncation problem: %q", d.Problems)
	}
	// A CJK character counts as a word; a word split across writes counts once.
	b := &textBuf{max: 1 << 20, maxWords: 4}
	for _, p := range []string{"wo", "rd 会議", "x", "y z"} {
		b.append([]byte(p))
	}
	if got := string(b.b); got != "word 会議xy " || !b.wordsHit {
		t.Errorf("kept %q (words hit %v)", got, b.wordsHit)
	}
}
