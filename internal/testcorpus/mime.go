package testcorpus

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// charsets maps the labels we write to their encoders. gb2312 and
// ks_c_5601-1987 are written with the GBK and EUC-KR encoders, as real MUAs
// do: the labels are the ones seen in the wild, the bytes are the supersets'.
var charsets = map[string]encoding.Encoding{
	"iso-8859-1":     charmap.ISO8859_1,
	"koi8-r":         charmap.KOI8R,
	"gbk":            simplifiedchinese.GBK,
	"gb2312":         simplifiedchinese.GBK,
	"big5":           traditionalchinese.Big5,
	"iso-2022-jp":    japanese.ISO2022JP,
	"euc-kr":         korean.EUCKR,
	"ks_c_5601-1987": korean.EUCKR,
}

// encodeCharset converts UTF-8 text to the charset; it fails rather than
// substitute, so a generated body always decodes back to the intended text.
func encodeCharset(label, s string) ([]byte, error) {
	switch label {
	case "us-ascii":
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, fmt.Errorf("testcorpus: non-ASCII text for us-ascii: %q", s)
			}
		}
		return []byte(s), nil
	case "utf-8":
		return []byte(s), nil
	}
	enc, ok := charsets[label]
	if !ok {
		return nil, fmt.Errorf("testcorpus: unknown charset %q", label)
	}
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("testcorpus: %s cannot encode %q: %w", label, s, err)
	}
	return b, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// qWord appends the RFC 2047 Q encoding of b; the safe set is the one allowed
// in a phrase (RFC 2047 5(3)), so the result is valid in every header context.
func qWord(dst []byte, b []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range b {
		switch {
		case c == ' ':
			dst = append(dst, '_')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '!', c == '*', c == '+', c == '-', c == '/':
			dst = append(dst, c)
		default:
			dst = append(dst, '=', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// encodedWords encodes s as a sequence of RFC 2047 encoded-words of at most
// 75 characters, separated by single spaces. Words are split between
// characters and each chunk is encoded on its own, so stateful charsets such
// as ISO-2022-JP return to ASCII inside every word, as RFC 1468 requires.
func encodedWords(s, cs string, enc byte) (string, error) {
	var words []string
	wordOf := func(chunk string) (string, error) {
		b, err := encodeCharset(cs, chunk)
		if err != nil {
			return "", err
		}
		w := []byte("=?" + cs + "?" + string(enc) + "?")
		if enc == 'B' {
			w = base64.StdEncoding.AppendEncode(w, b)
		} else {
			w = qWord(w, b)
		}
		return string(append(w, '?', '=')), nil
	}
	rest := s
	for rest != "" {
		// Grow the chunk rune by rune while the word stays within 75.
		end := 0
		best := ""
		for end < len(rest) {
			_, sz := utf8.DecodeRuneInString(rest[end:])
			w, err := wordOf(rest[:end+sz])
			if err != nil {
				return "", err
			}
			if len(w) > 75 && best != "" {
				break
			}
			best, end = w, end+sz
		}
		words = append(words, best)
		rest = rest[end:]
	}
	return strings.Join(words, " "), nil
}

// encodeText encodes unstructured header text (Subject). minimal leaves ASCII
// words before the first and after the last non-ASCII word unencoded, as many
// MUAs do; otherwise the whole value is encoded.
func encodeText(s, cs string, enc byte, minimal bool) (string, error) {
	if isASCII(s) {
		return s, nil
	}
	if !minimal {
		return encodedWords(s, cs, enc)
	}
	f := strings.Split(s, " ")
	first, last := -1, -1
	for i, w := range f {
		if !isASCII(w) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	mid, err := encodedWords(strings.Join(f[first:last+1], " "), cs, enc)
	if err != nil {
		return "", err
	}
	out := append(append(append([]string{}, f[:first]...), mid), f[last+1:]...)
	return strings.Join(out, " "), nil
}

// nameEncoding is the RFC 2047 encoding used for p's display name.
func nameEncoding(p person, enc byte) byte {
	if p.cs == "iso-2022-jp" {
		return 'B' // RFC 1468; Q-encoded escape sequences are not seen in practice
	}
	return enc
}

// formatAddr renders "Name <addr>" with the name plain, quoted or encoded.
func formatAddr(p person, enc byte, quoteEncoded bool) (string, error) {
	if p.name == "" {
		return p.addr, nil
	}
	if isASCII(p.name) {
		if strings.ContainsAny(p.name, `,.'"()<>@;:`) {
			return `"` + strings.ReplaceAll(p.name, `"`, `\"`) + `" <` + p.addr + ">", nil
		}
		return p.name + " <" + p.addr + ">", nil
	}
	w, err := encodedWords(p.name, p.cs, nameEncoding(p, enc))
	if err != nil {
		return "", err
	}
	if quoteEncoded { // non-standard but common: encoded-words inside quotes
		return `"` + w + `" <` + p.addr + ">", nil
	}
	return w + " <" + p.addr + ">", nil
}

// writeHeader writes one header field, folded before spaces (never inside a
// quoted string) so lines stay within 78 characters where possible. Values
// that already contain CRLF are written as they are.
func writeHeader(b *bytes.Buffer, name, value string) {
	line := name + ": " + value
	if len(line) <= 78 || strings.Contains(value, "\r\n") {
		b.WriteString(line)
		b.WriteString("\r\n")
		return
	}
	// Candidate fold points: spaces outside quotes, after the field name.
	var cuts []int
	inq := false
	for i := len(name) + 2; i < len(line); i++ {
		switch line[i] {
		case '"':
			if line[i-1] != '\\' {
				inq = !inq
			}
		case ' ', '\t':
			if !inq && i > len(name)+2 {
				cuts = append(cuts, i)
			}
		}
	}
	start := 0
	for len(line)-start > 78 {
		cut := -1
		for _, c := range cuts {
			if c <= start {
				continue
			}
			if c-start <= 78 || cut < 0 {
				cut = c
			}
			if c-start > 78 {
				break
			}
		}
		if cut < 0 {
			break
		}
		b.WriteString(line[start:cut])
		b.WriteString("\r\n")
		start = cut
	}
	b.WriteString(line[start:])
	b.WriteString("\r\n")
}

// appendBase64 appends b in base64, 76 characters a line, CRLF.
func appendBase64(dst, b []byte) []byte {
	const line = 57 // input bytes per 76-char line
	dst = slices.Grow(dst, (len(b)+line-1)/line*78)
	for len(b) > 0 {
		n := min(line, len(b))
		dst = base64.StdEncoding.AppendEncode(dst, b[:n])
		dst = append(dst, '\r', '\n')
		b = b[n:]
	}
	return dst
}

func encodeQP(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/8)
	w := quotedprintable.NewWriter(&out)
	w.Write(b)
	w.Close()
	if !bytes.HasSuffix(out.Bytes(), []byte("\r\n")) {
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

// crlf turns '\n' line ends into CRLF (input is generated with '\n' only).
func crlf(s []byte) []byte {
	n := bytes.Count(s, []byte{'\n'})
	out := make([]byte, 0, len(s)+n)
	for {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			return append(out, s...)
		}
		out = append(append(out, s[:i]...), '\r', '\n')
		s = s[i+1:]
	}
}

// entity is a MIME entity: header fields plus either an encoded leaf body
// (CRLF, ending in CRLF) or child parts.
type entity struct {
	hdr      [][2]string
	body     []byte
	boundary string
	preamble string
	parts    []*entity
}

func (e *entity) add(name, value string) { e.hdr = append(e.hdr, [2]string{name, value}) }

// writeHeaders writes e's header fields (not the blank line).
func (e *entity) writeHeaders(b *bytes.Buffer) {
	for _, h := range e.hdr {
		writeHeader(b, h[0], h[1])
	}
}

// writeBody writes what follows the blank line. The CRLF that ends each part
// body doubles as the CRLF that starts the next delimiter line.
func (e *entity) writeBody(b *bytes.Buffer) {
	if e.parts == nil {
		b.Write(e.body)
		return
	}
	b.WriteString(e.preamble)
	for _, p := range e.parts {
		b.WriteString("--" + e.boundary + "\r\n")
		p.writeHeaders(b)
		b.WriteString("\r\n")
		p.writeBody(b)
	}
	b.WriteString("--" + e.boundary + "--\r\n")
}

func (e *entity) size() int {
	n := 0
	for _, h := range e.hdr {
		n += len(h[0]) + len(h[1]) + 4
	}
	if e.parts == nil {
		return n + len(e.body)
	}
	for _, p := range e.parts {
		n += p.size() + len(e.boundary) + 6
	}
	return n
}

// rfc2231 renders a parameter in RFC 2231 extended form, split into
// continuations of about chunk characters when chunk > 0.
func rfc2231(param, value string, chunk int) string {
	var toks []string
	for _, r := range value {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_", r)) {
			toks = append(toks, string(r))
			continue
		}
		var t strings.Builder
		var buf [4]byte
		for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
			fmt.Fprintf(&t, "%%%02X", c)
		}
		toks = append(toks, t.String())
	}
	if chunk <= 0 {
		return param + "*=utf-8''" + strings.Join(toks, "")
	}
	var parts []string
	cur := ""
	for _, t := range toks {
		if cur != "" && len(cur)+len(t) > chunk {
			parts = append(parts, cur)
			cur = ""
		}
		cur += t
	}
	parts = append(parts, cur)
	var out []string
	for i, p := range parts {
		pre := ""
		if i == 0 {
			pre = "utf-8''"
		}
		out = append(out, fmt.Sprintf("%s*%d*=%s%s", param, i, pre, p))
	}
	return strings.Join(out, "; ")
}
