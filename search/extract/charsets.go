package extract

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// init adds labels seen in real mail that go-message's charset table (IANA
// and WHATWG names) does not know, or maps to a decoder that loses text.
// The registry is process-wide, so every go-message user in the program
// benefits.
func init() {
	reg := func(enc encoding.Encoding, labels ...string) {
		for _, l := range labels {
			l = strings.ToLower(l)
			charset.RegisterEncoding(l, enc)
			extraCharsets[l] = enc
		}
	}
	// GB18030 decodes a superset of GB2312 and GBK (incl. 0x80 as €), and
	// mailers routinely label GBK text as gb2312.
	reg(simplifiedchinese.GB18030, "gb2312", "gbk", "x-gbk", "euc-cn", "x-euc-cn", "cp936",
		"ms936", "windows-936", "csgb2312", "chinese", "gb_2312-80", "csgbk", "gb18030")
	reg(traditionalchinese.Big5, "big5", "x-big5", "cn-big5", "x-x-big5", "big5-hkscs",
		"cp950", "windows-950", "x-windows-950", "csbig5")
	reg(japanese.ShiftJIS, "shift_jis", "shift-jis", "sjis", "x-sjis", "cp932", "ms932",
		"windows-31j", "x-ms-cp932", "ms_kanji", "csshiftjis", "csWindows31J")
	reg(japanese.ISO2022JP, "iso-2022-jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3",
		"csiso2022jp", "jis")
	reg(japanese.EUCJP, "euc-jp", "x-euc-jp", "cseucpkdfmtjapanese")
	reg(korean.EUCKR, "euc-kr", "x-euc-kr", "ks_c_5601-1987", "ks_c_5601", "ksc5601",
		"ksc_5601", "cp949", "uhc", "windows-949", "x-windows-949", "korean", "cseuckr")
	// ISO-8859-1 mail almost always means windows-1252 (curly quotes in
	// 0x80–0x9F); WHATWG decodes it the same way.
	reg(charmap.Windows1252, "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1",
		"l1", "cp819", "ibm819", "cp1252", "x-cp1252", "windows-1252", "ansi")
	reg(charmap.Windows1250, "cp1250", "x-cp1250")
	reg(charmap.Windows1251, "cp1251", "x-cp1251")
	reg(charmap.Windows1253, "cp1253")
	reg(charmap.Windows1254, "cp1254")
	reg(charmap.Windows1255, "cp1255")
	reg(charmap.Windows1256, "cp1256")
	reg(charmap.Windows1257, "cp1257")
	reg(charmap.Windows1258, "cp1258")
	reg(charmap.KOI8R, "koi8r", "koi8")
	reg(charmap.KOI8U, "koi8u")
	reg(utf7Encoding{}, "utf-7", "utf7", "x-utf-7", "unicode-1-1-utf-7", "csunicode11utf7")
	// Labels that only say "some 8-bit charset": UTF-8 if it decodes,
	// windows-1252 otherwise.
	reg(guessEncoding{}, "unknown-8bit", "x-unknown", "unknown", "8bit", "x-8bit", "default",
		"binary", "none", "unknown-8bit-charset")
}

// extraCharsets holds what init registers with go-message, so the same
// table serves lookupEncoding. It also has go-message's own two quirks.
var extraCharsets = map[string]encoding.Encoding{
	"ansi_x3.110-1983": charmap.ISO8859_1,
	"x-utf_8j":         unicode.UTF8,
}

// lookupEncoding resolves a normalised label exactly as go-message's
// charset.Reader does (its table, IANA MIME names, "cs"+name, WHATWG
// labels), but returns the Encoding: header strings are then decoded with
// Decoder.Bytes instead of a streaming reader and its 8 KiB of buffers.
func lookupEncoding(l string) encoding.Encoding {
	if enc, ok := extraCharsets[l]; ok {
		return enc
	}
	enc, err := ianaindex.MIME.Encoding(l)
	if enc == nil {
		enc, err = ianaindex.MIME.Encoding("cs" + l)
	}
	if enc == nil {
		enc, err = htmlindex.Get(l)
	}
	if err != nil {
		return nil
	}
	return enc
}

// normCharset turns a charset parameter into a lookup label: quotes and
// RFC 2231 language suffixes ("utf-8*en") removed, lower case.
func normCharset(label string) string {
	label = strings.Trim(strings.TrimSpace(label), "\"' ")
	if i := strings.IndexAny(label, "* \t("); i >= 0 {
		label = label[:i]
	}
	return strings.ToLower(label)
}

func isUTF8Label(l string) bool {
	switch l {
	case "utf-8", "utf8", "x-utf8", "x-utf-8", "unicode-1-1-utf-8", "unicode-2-0-utf-8":
		return true
	}
	return false
}

// isGuessLabel reports labels under which 8-bit bytes are a mislabel, not
// binary junk: none at all, or plain ASCII.
func isGuessLabel(l string) bool {
	switch l {
	case "", "us-ascii", "ascii", "us_ascii", "ansi_x3.4-1968", "iso646-us", "csascii", "7bit":
		return true
	}
	return false
}

// decodingReader returns a reader that yields UTF-8 for r labelled with
// label (invalid sequences may remain for UTF-8 labels; the text writer
// replaces them). The second result is false when the label is unknown;
// such text is decoded as UTF-8 if valid, else windows-1252.
func decodingReader(label string, r io.Reader) (io.Reader, bool) {
	tr, guess, ok := textSource(label, r)
	if guess {
		return transform.NewReader(tr, newGuessDecoder()), ok
	}
	return tr, ok
}

// textSource is decodingReader for readers that feed a textWriter: when
// guess is true, r is returned as is and the writer must run in guess
// mode, which saves a transformer per part.
func textSource(label string, r io.Reader) (_ io.Reader, guess, known bool) {
	l := normCharset(label)
	switch {
	case isUTF8Label(l):
		return r, false, true
	case isGuessLabel(l):
		return r, true, true
	}
	if enc := lookupEncoding(l); enc != nil {
		return enc.NewDecoder().Reader(r), false, true
	}
	return r, true, false
}

// decodeBytes is decodingReader for a short byte slice. The result may
// still hold invalid UTF-8 for UTF-8 labels; callers clean it.
func decodeBytes(label string, b []byte) (string, bool) {
	l := normCharset(label)
	switch {
	case isUTF8Label(l):
		return string(b), true
	case isGuessLabel(l):
		return guessString(b), true
	}
	if isASCII(b) && !bytes.ContainsAny(b, "\x1b~+") && !strings.HasPrefix(l, "utf-") {
		// Charsets met in mail keep plain ASCII as is, except the 7-bit
		// ones (ISO-2022 escapes, HZ "~{", UTF-7 "+") and UTF-16/32:
		// skip the decoder allocation for the common case.
		return string(b), true
	}
	if enc := lookupEncoding(l); enc != nil {
		if out, err := enc.NewDecoder().Bytes(b); err == nil {
			return string(out), true
		}
	}
	return guessString(b), false
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decode8bit turns a raw header value into UTF-8. Valid UTF-8 (which
// includes plain ASCII) is kept. Otherwise the message's first declared
// charset is used when it is a real 8-bit charset, and failing that a
// heuristic: text that is well-formed GB18030 made mostly of two-byte
// pairs in the GB2312 range (both bytes >= 0xA1, as Chinese text is) is
// decoded as GB18030, anything else as windows-1252. Chinese mailers are
// the main source of unencoded 8-bit headers; Latin text rarely forms such
// pairs because its accented letters sit between ASCII letters.
func decode8bit(b []byte, hint string) string {
	if utf8.Valid(b) {
		return string(b)
	}
	if l := normCharset(hint); !isUTF8Label(l) && !isGuessLabel(l) {
		if s, ok := decodeBytes(l, b); ok {
			return s
		}
	}
	if looksGB18030(b) {
		if s, ok := decodeBytes("gb18030", b); ok && mostlyHan(s) {
			return s
		}
	}
	return decodeWindows1252(b)
}

// mostlyHan reports whether decoded text is plausibly Chinese: no
// replacement or private-use characters (GBK's user-defined areas, which
// Latin letter pairs like "üß" fall into), and at least 80% of the
// non-ASCII characters Han ideographs, CJK punctuation or full-width forms.
func mostlyHan(s string) bool {
	cjk, other := 0, 0
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
		case r == utf8.RuneError || r >= 0xE000 && r <= 0xF8FF:
			return false
		case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF, r >= 0x20000 && r <= 0x2FFFF,
			r >= 0x3000 && r <= 0x303F, r >= 0xFF00 && r <= 0xFFEF:
			cjk++
		default:
			other++
		}
	}
	return cjk > 0 && cjk >= 4*other
}

// looksGB18030 reports whether b is well-formed GB18030 whose multi-byte
// sequences are mostly GB2312-style pairs (both bytes in 0xA1–0xFE).
func looksGB18030(b []byte) bool {
	pairs, high := 0, 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			i++
			continue
		}
		if c == 0x80 || c == 0xFF || i+1 >= len(b) {
			return false
		}
		c1 := b[i+1]
		switch {
		case c1 >= 0x30 && c1 <= 0x39: // four-byte sequence
			if i+3 >= len(b) || b[i+2] < 0x81 || b[i+2] > 0xFE || b[i+3] < 0x30 || b[i+3] > 0x39 {
				return false
			}
			pairs++
			i += 4
		case c1 >= 0x40 && c1 <= 0xFE && c1 != 0x7F:
			pairs++
			if c >= 0xA1 && c1 >= 0xA1 {
				high++
			}
			i += 2
		default:
			return false
		}
	}
	// One pair alone is as likely two accented Latin letters ("éé").
	return pairs >= 2 && high*2 > pairs
}

var win1252 = func() (t [256]rune) {
	for i := range t {
		t[i] = charmap.Windows1252.DecodeByte(byte(i))
	}
	return t
}()

func decodeWindows1252(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(win1252[c])
		}
	}
	return sb.String()
}

// guessString decodes b as UTF-8 if it is valid, else as windows-1252.
func guessString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return decodeWindows1252(b)
}

// guessEncoding is the encoding behind "unknown-8bit" and friends.
type guessEncoding struct{}

func (guessEncoding) NewDecoder() *encoding.Decoder {
	return &encoding.Decoder{Transformer: newGuessDecoder()}
}
func (guessEncoding) NewEncoder() *encoding.Encoder { return unicode.UTF8.NewEncoder() }

// guessDecoder passes UTF-8 through until the first invalid sequence and
// decodes everything from there on as windows-1252, so streamed text needs
// no look-ahead. Text before the switch was valid UTF-8 (usually ASCII,
// which both charsets share).
type guessDecoder struct{ latin bool }

func newGuessDecoder() *guessDecoder { return &guessDecoder{} }

func (d *guessDecoder) Reset() { d.latin = false }

func (d *guessDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c < utf8.RuneSelf {
			if nDst >= len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = c
			nDst++
			nSrc++
			continue
		}
		if !d.latin {
			if !utf8.FullRune(src[nSrc:]) && !atEOF {
				return nDst, nSrc, transform.ErrShortSrc
			}
			r, size := utf8.DecodeRune(src[nSrc:])
			if r != utf8.RuneError || size > 1 {
				if nDst+size > len(dst) {
					return nDst, nSrc, transform.ErrShortDst
				}
				nDst += copy(dst[nDst:], src[nSrc:nSrc+size])
				nSrc += size
				continue
			}
			d.latin = true
		}
		r := win1252[c]
		if nDst+utf8.RuneLen(r) > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += utf8.EncodeRune(dst[nDst:], r)
		nSrc++
	}
	return nDst, nSrc, nil
}
