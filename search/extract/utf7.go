package extract

import (
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// utf7Encoding decodes RFC 2152 UTF-7, still found in old mail; x/text has
// no decoder for it. Encoding to UTF-7 is not needed and yields UTF-8.
type utf7Encoding struct{}

func (utf7Encoding) NewDecoder() *encoding.Decoder {
	return &encoding.Decoder{Transformer: &utf7Decoder{}}
}
func (utf7Encoding) NewEncoder() *encoding.Encoder { return unicode.UTF8.NewEncoder() }

// utf7Decoder keeps its state between calls so a shift sequence may span
// buffers: a "+" opens modified base64 of UTF-16BE, any non-base64 byte
// closes it, and a "-" that closes it is dropped ("+-" is a literal "+").
type utf7Decoder struct {
	shifted bool
	fresh   bool   // just after "+": a "-" here means a literal "+"
	bits    uint32 // pending base64 bits
	nbits   uint
	high    rune // pending high surrogate, 0 if none
}

func (d *utf7Decoder) Reset() { *d = utf7Decoder{} }

func (d *utf7Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for ; nSrc < len(src); nSrc++ {
		if len(dst)-nDst < 2*utf8.UTFMax {
			return nDst, nSrc, transform.ErrShortDst
		}
		c := src[nSrc]
		if d.shifted {
			if v := b64Value(c); v < 64 {
				d.fresh = false
				d.bits = d.bits<<6 | uint32(v)
				d.nbits += 6
				if d.nbits >= 16 {
					d.nbits -= 16
					u := rune(d.bits>>d.nbits) & 0xFFFF
					d.bits &= 1<<d.nbits - 1
					nDst += d.unit(dst[nDst:], u)
				}
				continue
			}
			// Any other byte ends the shift; leftover bits are padding.
			wasFresh := d.fresh
			d.shifted, d.fresh, d.bits, d.nbits = false, false, 0, 0
			nDst += d.flushHigh(dst[nDst:])
			if c == '-' {
				if wasFresh {
					dst[nDst] = '+'
					nDst++
				}
				continue
			}
		}
		switch {
		case c == '+':
			d.shifted, d.fresh = true, true
		case c < utf8.RuneSelf:
			dst[nDst] = c
			nDst++
		default: // 8-bit bytes are not UTF-7
			nDst += utf8.EncodeRune(dst[nDst:], utf8.RuneError)
		}
	}
	if atEOF {
		if len(dst)-nDst < utf8.UTFMax {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += d.flushHigh(dst[nDst:])
		if d.shifted && d.fresh {
			dst[nDst] = '+' // a lone "+" at the end
			nDst++
		}
		d.shifted, d.fresh, d.bits, d.nbits = false, false, 0, 0
	}
	return nDst, nSrc, nil
}

// unit writes one UTF-16 code unit, pairing surrogates.
func (d *utf7Decoder) unit(dst []byte, u rune) int {
	n := 0
	if d.high != 0 {
		if utf16.IsSurrogate(u) && u >= 0xDC00 {
			r := utf16.DecodeRune(d.high, u)
			d.high = 0
			return utf8.EncodeRune(dst, r)
		}
		n = d.flushHigh(dst)
	}
	if u >= 0xD800 && u < 0xDC00 {
		d.high = u
		return n
	}
	if utf16.IsSurrogate(u) { // lone low surrogate
		u = utf8.RuneError
	}
	return n + utf8.EncodeRune(dst[n:], u)
}

func (d *utf7Decoder) flushHigh(dst []byte) int {
	if d.high == 0 {
		return 0
	}
	d.high = 0
	return utf8.EncodeRune(dst, utf8.RuneError)
}
