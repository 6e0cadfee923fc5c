package extract

import (
	"encoding/base64"
	"strings"
)

// RFC 2047 encoded words. mime.WordDecoder is not used for unstructured
// fields because it fails the whole field on one unknown charset and
// decodes each word on its own, which breaks characters that mailers split
// across adjacent words. Here adjacent words in one charset are joined
// before charset decoding, and malformed words stay as they are.

type encodedWord struct {
	end     int // index after "?="
	charset string
	data    []byte
}

// wordScanner finds encoded words in time linear in the input: the
// first "?=" after the last search start is cached and reused by later
// candidates, whose text starts at most a charset's length earlier.
type wordScanner struct {
	s       string
	cached  bool
	from    int // where the cached search started
	nextEnd int // first "?=" at or after from, or -1
}

func newWordScanner(s string) *wordScanner { return &wordScanner{s: s} }

// endFrom returns the index of the first "?=" at or after i, or -1.
func (w *wordScanner) endFrom(i int) int {
	if w.cached {
		if i < w.from {
			// Only the short gap before the cached start is unknown.
			if k := strings.Index(w.s[i:min(w.from+1, len(w.s))], "?="); k >= 0 {
				return i + k
			}
			return w.nextEnd
		}
		if w.nextEnd < 0 || w.nextEnd >= i {
			return w.nextEnd
		}
	}
	w.cached, w.from, w.nextEnd = true, i, strings.Index(w.s[i:], "?=")
	if w.nextEnd >= 0 {
		w.nextEnd += i
	}
	return w.nextEnd
}

// parse parses "=?charset?enc?text?=" at s[i:]. done is true when no
// encoded word can start at or after i.
func (w *wordScanner) parse(i int) (ew encodedWord, ok, done bool) {
	s := w.s
	rest := s[i+2:]
	q := strings.IndexByte(rest[:min(len(rest), 76)], '?')
	if q <= 0 || strings.ContainsAny(rest[:q], " \t\r\n=\"") {
		return encodedWord{}, false, false
	}
	cs := rest[:q]
	if len(rest) < q+3 || rest[q+2] != '?' {
		return encodedWord{}, false, false
	}
	enc := rest[q+1] | 0x20
	if enc != 'b' && enc != 'q' {
		return encodedWord{}, false, false
	}
	start := i + 2 + q + 3
	e := w.endFrom(start)
	if e < 0 {
		return encodedWord{}, false, true
	}
	text := s[start:e]
	var data []byte
	switch enc {
	case 'b':
		data, ok = decodeWordB(text)
	case 'q':
		data, ok = decodeWordQ(text)
	}
	if !ok {
		return encodedWord{}, false, false
	}
	return encodedWord{end: e + 2, charset: normCharset(cs), data: data}, true, false
}

// decodeWordB decodes base64 text. It checks the alphabet first and
// fails at the first foreign byte, so a failed candidate costs no more
// than the distance to the next "=?" (whose "?" is foreign).
func decodeWordB(text string) ([]byte, bool) {
	for i := 0; i < len(text); i++ {
		if b64Table[text[i]] > b64Pad {
			return nil, false
		}
	}
	if b, err := base64.StdEncoding.DecodeString(text); err == nil {
		return b, true
	}
	// Missing or extra padding is common and harmless.
	if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "=")); err == nil {
		return b, true
	}
	return nil, false
}

func decodeWordQ(text string) ([]byte, bool) {
	b := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '_':
			b = append(b, ' ')
		case '=':
			if i+2 >= len(text) || !isHex(text[i+1]) || !isHex(text[i+2]) {
				return nil, false
			}
			b = append(b, unhex(text[i+1])<<4|unhex(text[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b, true
}

// decodeWords decodes the encoded words in s. White space between two
// encoded words is dropped (RFC 2047 §6.2); the bytes of adjacent words in
// the same charset are decoded together.
func (x *extractor) decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var b strings.Builder
	var run []byte
	runCS := ""
	flush := func() {
		if runCS != "" {
			b.WriteString(x.decodeCharset(runCS, run))
		}
		run, runCS = run[:0], ""
	}
	last, prevWord := 0, false
	ws := newWordScanner(s)
	for i := 0; ; {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			break
		}
		j += i
		w, ok, done := ws.parse(j)
		if done {
			break
		}
		if !ok {
			i = j + 2
			continue
		}
		between := s[last:j]
		if !(prevWord && strings.Trim(between, " \t\r\n") == "") {
			flush()
			b.WriteString(between)
		}
		if runCS != "" && runCS != w.charset {
			flush()
		}
		runCS = w.charset
		run = append(run, w.data...)
		last, prevWord, i = w.end, true, w.end
	}
	flush()
	b.WriteString(s[last:])
	return b.String()
}

// mergeEncodedWords rewrites runs of adjacent encoded words in one charset
// as a single base64 word, so net/mail (which decodes word by word) sees
// characters that were split across words whole.
func mergeEncodedWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var b strings.Builder
	var run []byte
	runCS, runN, runStart := "", 0, 0
	last := 0
	flush := func(end int) {
		switch {
		case runN == 1:
			b.WriteString(s[runStart:end]) // leave a lone word as written
		case runN > 1:
			b.WriteString("=?" + runCS + "?B?" + base64.StdEncoding.EncodeToString(run) + "?=")
		}
		run, runCS, runN = run[:0], "", 0
	}
	prevEnd := -1
	ws := newWordScanner(s)
	for i := 0; ; {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			break
		}
		j += i
		w, ok, done := ws.parse(j)
		if done {
			break
		}
		if !ok {
			i = j + 2
			continue
		}
		adjacent := prevEnd >= 0 && strings.Trim(s[prevEnd:j], " \t\r\n") == ""
		if !adjacent || runCS != w.charset {
			flush(prevEnd)
			b.WriteString(s[last:j])
			runStart = j
		}
		runCS = w.charset
		run = append(run, w.data...)
		runN++
		last, prevEnd, i = w.end, w.end, w.end
	}
	flush(prevEnd)
	b.WriteString(s[last:])
	return b.String()
}
