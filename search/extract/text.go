package extract

import (
	"unicode"
	"unicode/utf8"
)

// textBuf collects extracted text up to a byte limit and, when maxWords
// is set, a word limit. Writes past the byte limit are dropped at a rune
// boundary, past the word limit at a word boundary; either marks the
// buffer truncated. A discarding textBuf accepts and drops everything
// (text of an alternative that was not chosen).
type textBuf struct {
	b         []byte
	max       int
	truncated bool
	discard   bool
	// maxWords, when positive, also bounds the words kept (see
	// Options.MaxBodyWords); words counts them, inWord carries a word
	// across appends, and wordsHit says this limit cut the text.
	maxWords, words  int
	inWord, wordsHit bool
	// writes counts writes that contained something other than white
	// space, so an alternative can tell whether a part added real text.
	writes int
}

func newTextBuf(max int) *textBuf { return &textBuf{max: max} }

func (t *textBuf) remaining() int {
	if t.discard {
		return 0
	}
	return t.max - len(t.b)
}

func (t *textBuf) full() bool { return t.remaining() <= 0 }

// append adds valid UTF-8 text.
func (t *textBuf) append(p []byte) {
	if t.discard || t.truncated || len(p) == 0 {
		return
	}
	if room := t.max - len(t.b); len(p) > room {
		t.truncated = true
		if room <= 0 {
			return
		}
		i := room
		for i > 0 && !utf8.RuneStart(p[i]) {
			i--
		}
		p = p[:i]
	}
	if t.maxWords > 0 {
		if n := t.countWords(p); n < len(p) {
			t.truncated, t.wordsHit = true, true
			p = p[:n]
		}
	}
	if !isBlank(p) {
		t.writes++
	}
	if len(t.b)+len(p) > cap(t.b) {
		// Grow by doubling up to the limit: append's gentler growth for
		// large slices would allocate several times the final size.
		c := max(2*cap(t.b), len(t.b)+len(p), 512)
		c = min(c, max(t.max, len(t.b)+len(p)))
		nb := make([]byte, len(t.b), c)
		copy(nb, t.b)
		t.b = nb
	}
	t.b = append(t.b, p...)
}

// countWords counts the words of p into t.words and returns how much of p
// fits within maxWords: the offset of the word that would exceed it, or
// len(p). A word is what the index makes one token of, roughly: a run of
// letters and digits, or a single Han, kana or Hangul character (the CJK
// analyzer indexes one bigram per character).
func (t *textBuf) countWords(p []byte) int {
	for i := 0; i < len(p); {
		r, n := rune(p[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(p[i:])
		}
		switch {
		case r < utf8.RuneSelf && !('a' <= r|0x20 && r|0x20 <= 'z' || '0' <= r && r <= '9'):
			t.inWord = false
		case r >= utf8.RuneSelf && isCJK(r):
			t.inWord = false
			if t.words++; t.words > t.maxWords {
				return i
			}
		case r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsDigit(r):
			t.inWord = false
		case !t.inWord:
			t.inWord = true
			if t.words++; t.words > t.maxWords {
				return i
			}
		}
		i += n
	}
	return len(p)
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// sep starts a new part on a fresh line.
func (t *textBuf) sep() {
	if n := len(t.b); n > 0 && t.b[n-1] != '\n' {
		t.append([]byte{'\n'})
	}
}

// merge appends another buffer's text (a chosen alternative).
func (t *textBuf) merge(o *textBuf) {
	if len(o.b) > 0 {
		t.sep()
		t.append(o.b)
	}
	if o.truncated {
		t.truncated = true
	}
}

func isBlank(p []byte) bool {
	for _, c := range p {
		switch c {
		case ' ', '\t', '\n', '\r', '\f', '\v':
		default:
			return false
		}
	}
	return true
}

// textWriter cleans a stream of decoded text on its way into a textBuf:
// invalid UTF-8 becomes U+FFFD, NUL bytes are dropped and CR LF / lone CR
// become LF. A rune split across writes is carried over.
//
// In guess mode (text of no or an unknown charset) the input is taken as
// UTF-8 until the first invalid sequence and as windows-1252 from there
// on, which needs no decoder and no look-ahead.
type textWriter struct {
	dst   *textBuf
	guess bool
	latin bool // guess mode switched to windows-1252
	carry [utf8.UTFMax]byte
	nc    int
	cr    bool // the last byte written was CR: skip a following LF
	tmp   [utf8.UTFMax]byte
}

func newTextWriter(dst *textBuf) *textWriter { return &textWriter{dst: dst} }

// Write never fails; it drops text once the buffer is full.
func (w *textWriter) Write(p []byte) (int, error) {
	n := len(p)
	for w.nc > 0 && len(p) > 0 {
		w.carry[w.nc] = p[0]
		w.nc++
		p = p[1:]
		if utf8.FullRune(w.carry[:w.nc]) {
			var tmp [utf8.UTFMax]byte
			k := copy(tmp[:], w.carry[:w.nc])
			w.nc = 0
			w.scan(tmp[:k])
		}
	}
	if len(p) > 0 {
		w.scan(p)
	}
	return n, nil
}

func (w *textWriter) WriteString(s string) { w.Write([]byte(s)) }

var replacement = []byte(string(utf8.RuneError))

func (w *textWriter) scan(p []byte) {
	if w.cr {
		w.cr = false
		if p[0] == '\n' {
			p = p[1:]
		}
	}
	start := 0
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if c != 0 && c != '\r' {
				i++
				continue
			}
			w.dst.append(p[start:i])
			if c == '\r' {
				w.dst.append([]byte{'\n'})
				if i+1 < len(p) && p[i+1] == '\n' {
					i++
				} else if i+1 == len(p) {
					w.cr = true
				}
			}
			i++
			start = i
			continue
		}
		if w.latin {
			w.dst.append(p[start:i])
			n := utf8.EncodeRune(w.tmp[:], win1252[c])
			w.dst.append(w.tmp[:n])
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size <= 1 {
			w.dst.append(p[start:i])
			start = i
			if !utf8.FullRune(p[i:]) {
				w.nc = copy(w.carry[:], p[i:])
				return
			}
			if w.guess {
				w.latin = true // reprocess this byte as windows-1252
				continue
			}
			w.dst.append(replacement)
			i++
			start = i
			continue
		}
		i += size
	}
	w.dst.append(p[start:])
}

// Close flushes an incomplete trailing rune: U+FFFD, or windows-1252 in
// guess mode.
func (w *textWriter) Close() {
	if w.nc > 0 {
		k := w.nc
		w.nc = 0
		if w.guess {
			w.latin = true
			w.scan(w.carry[:k])
		} else {
			w.dst.append(replacement)
		}
	}
	w.cr = false
}

// cleanLine makes a header-derived string safe for a single-line field:
// valid UTF-8, no NUL, other control characters turned into spaces,
// trimmed.
func cleanLine(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == 0:
			case c < ' ' || c == 0x7f:
				b = append(b, ' ')
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, replacement...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(trimSpace(b))
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
