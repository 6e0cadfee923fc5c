package extract

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/text/transform"
)

// Content-Transfer-Encoding decoders (RFC 2045 §6). They are lenient
// transformers: whatever can be decoded is kept, and damage is only
// recorded (bad) so the caller can report it, because an index is better
// served by most of a broken part than by none of it.

const (
	b64Pad     = 64 // '='
	b64Space   = 65 // white space, ignored silently
	b64Invalid = 66
)

var b64Table = func() (t [256]byte) {
	for i := range t {
		t[i] = b64Invalid
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	t['='] = b64Pad
	for _, c := range []byte(" \t\r\n\f\v") {
		t[c] = b64Space
	}
	return t
}()

func b64Value(c byte) byte { return b64Table[c] }

// b64Decoder decodes base64, skipping white space and invalid bytes. A
// pad ends the current group, so concatenated base64 blocks (seen from
// some mailers) decode fully.
type b64Decoder struct {
	quad [4]byte
	n    int
	bad  bool
}

func (d *b64Decoder) Reset() { *d = b64Decoder{} }

func (d *b64Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		// Fast path: whole groups of four alphabet bytes.
		if d.n == 0 {
			for nSrc+4 <= len(src) && nDst+3 <= len(dst) {
				a, b, c, e := b64Table[src[nSrc]], b64Table[src[nSrc+1]], b64Table[src[nSrc+2]], b64Table[src[nSrc+3]]
				if a|b|c|e >= 64 {
					break
				}
				dst[nDst] = a<<2 | b>>4
				dst[nDst+1] = b<<4 | c>>2
				dst[nDst+2] = c<<6 | e
				nDst += 3
				nSrc += 4
			}
			if nSrc >= len(src) {
				break
			}
		}
		v := b64Table[src[nSrc]]
		switch {
		case v < 64:
			if d.n == 3 && len(dst)-nDst < 3 {
				return nDst, nSrc, transform.ErrShortDst
			}
			d.quad[d.n] = v
			d.n++
			if d.n == 4 {
				nDst += d.flush(dst[nDst:])
			}
		case v == b64Pad:
			if len(dst)-nDst < 2 {
				return nDst, nSrc, transform.ErrShortDst
			}
			nDst += d.flush(dst[nDst:])
		case v == b64Space:
		default:
			d.bad = true
		}
		nSrc++
	}
	if atEOF && d.n > 0 {
		if len(dst)-nDst < 2 {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += d.flush(dst[nDst:])
	}
	return nDst, nSrc, nil
}

// flush writes the bytes of a (possibly partial) group and empties it.
func (d *b64Decoder) flush(dst []byte) int {
	q, n := d.quad, d.n
	d.n = 0
	switch n {
	case 4:
		dst[0], dst[1], dst[2] = q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3]
		return 3
	case 3:
		dst[0], dst[1] = q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2
		return 2
	case 2:
		dst[0] = q[0]<<2 | q[1]>>4
		return 1
	case 1:
		d.bad = true // six bits cannot make a byte
	}
	return 0
}

// qpDecoder decodes quoted-printable. Soft line breaks ("=" before the
// line end, optionally with trailing blanks) are removed; an "=" not
// followed by two hex digits is kept literally, as most mail readers do.
type qpDecoder struct{ bad bool }

func (d *qpDecoder) Reset() { d.bad = false }

// qpMaxLookahead bounds the blanks allowed between "=" and a line end, so
// a short source buffer can always make progress.
const qpMaxLookahead = 64

func (d *qpDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		// Copy the run up to the next "=".
		run := src[nSrc:]
		if i := bytes.IndexByte(run, '='); i >= 0 {
			run = run[:i]
		}
		if len(run) > 0 {
			n := copy(dst[nDst:], run)
			nDst += n
			nSrc += n
			if n < len(run) {
				return nDst, nSrc, transform.ErrShortDst
			}
			continue
		}
		// src[nSrc] == '='
		rest := src[nSrc+1:]
		if len(rest) < 2 && !atEOF {
			return nDst, nSrc, transform.ErrShortSrc
		}
		if len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]) {
			if nDst >= len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = unhex(rest[0])<<4 | unhex(rest[1])
			nDst++
			nSrc += 3
			continue
		}
		// Soft line break: "=" [blanks] ("\r\n" | "\n" | end of input).
		j := 0
		for j < len(rest) && j < qpMaxLookahead && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		switch {
		case j < len(rest) && rest[j] == '\n':
			nSrc += 1 + j + 1
			continue
		case j+1 < len(rest) && rest[j] == '\r' && rest[j+1] == '\n':
			nSrc += 1 + j + 2
			continue
		case j == len(rest) && !atEOF && j < qpMaxLookahead:
			return nDst, nSrc, transform.ErrShortSrc
		case j+1 == len(rest) && rest[j] == '\r' && !atEOF:
			return nDst, nSrc, transform.ErrShortSrc
		case j == len(rest) && atEOF:
			nSrc = len(src) // "=" at the very end: a soft break
			continue
		}
		// Malformed escape: keep the "=" literally.
		if nDst >= len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		d.bad = true
		dst[nDst] = '='
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// cteKind is a normalised Content-Transfer-Encoding.
type cteKind int

const (
	cteIdentity cteKind = iota // 7bit, 8bit, binary, absent
	cteBase64
	cteQP
	cteUnknown // decoded as identity, reported
)

func parseCTE(v string) cteKind {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), "\"'"))
	if i := strings.IndexAny(v, " \t;("); i >= 0 {
		v = v[:i]
	}
	switch v {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit", "none":
		return cteIdentity
	case "base64", "x-base64":
		return cteBase64
	case "quoted-printable", "x-quoted-printable", "qp":
		return cteQP
	}
	return cteUnknown
}

// cteReader wraps raw part bytes with the transfer decoding. bad reports
// damage once the reader has been drained.
type cteReader struct {
	io.Reader
	b64 *b64Decoder
	qp  *qpDecoder
}

func newCTEReader(r io.Reader, k cteKind) *cteReader {
	switch k {
	case cteBase64:
		d := &b64Decoder{}
		return &cteReader{Reader: transform.NewReader(r, d), b64: d}
	case cteQP:
		d := &qpDecoder{}
		return &cteReader{Reader: transform.NewReader(r, d), qp: d}
	}
	return &cteReader{Reader: r}
}

func (c *cteReader) bad() bool {
	return c.b64 != nil && c.b64.bad || c.qp != nil && c.qp.bad
}
