// Package mutf7 encodes and decodes IMAP modified UTF-7 (RFC 3501 §5.1.3),
// the encoding of IMAP4rev1 mailbox names and of Dovecot's Maildir++ folder
// directory names.
//
// Printable US-ASCII (0x20-0x7e) stands for itself, except "&", written
// "&-". Every other character is written as UTF-16 (surrogate pairs for
// characters beyond U+FFFF) in base64 with "," for "/", no padding, between
// "&" and "-". Each string has exactly one encoding, and Decode accepts only
// that one, so a decoded name encodes back to the same bytes and two
// spellings of one name cannot both exist on disk.
package mutf7

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// b64 is RFC 3501's modified base64. Strict rejects non-zero padding bits.
var b64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").
	WithPadding(base64.NoPadding).Strict()

// ErrInvalid is wrapped by every error of Decode.
var ErrInvalid = errors.New("invalid modified UTF-7")

// direct reports whether c stands for itself ('&' does, escaped as "&-").
func direct(c byte) bool { return c >= 0x20 && c <= 0x7e }

// Encode returns s in modified UTF-7. Invalid UTF-8 in s is encoded as one
// U+FFFD per bad byte (as a Go range loop reads it): names are text, and an
// encoder that cannot fail keeps callers simple.
func Encode(s string) string {
	var b strings.Builder
	var units []uint16
	var raw []byte
	for i := 0; i < len(s); {
		if c := s[i]; direct(c) {
			b.WriteByte(c)
			if c == '&' {
				b.WriteByte('-')
			}
			i++
			continue
		}
		// A maximal run of other characters makes one base64 section: RFC
		// 3501 forbids "-&" null shifts between two of them.
		units = units[:0]
		for i < len(s) && !direct(s[i]) {
			r, size := utf8.DecodeRuneInString(s[i:])
			units = utf16.AppendRune(units, r)
			i += size
		}
		raw = raw[:0]
		for _, u := range units {
			raw = append(raw, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(b64.EncodeToString(raw))
		b.WriteByte('-')
	}
	return b.String()
}

// Decode returns the UTF-8 form of the modified UTF-7 string s. It rejects
// what RFC 3501 forbids or is not the canonical encoding: bytes outside
// printable US-ASCII, an unterminated or empty base64 section, a section
// right after another ("-&" null shift), characters outside the base64
// alphabet, a length or non-zero padding bits that are not what encoding
// whole UTF-16 units gives, unpaired surrogates, and printable US-ASCII
// encoded in base64.
func Decode(s string) (string, error) {
	var b strings.Builder
	shiftEnd := -1 // index just past the last base64 section's '-'
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case !direct(c):
			return "", invalid(i, fmt.Sprintf("byte %#02x outside printable US-ASCII", c))
		case c != '&':
			b.WriteByte(c)
			i++
			continue
		case i+1 < len(s) && s[i+1] == '-':
			b.WriteByte('&')
			i += 2
			continue
		case i == shiftEnd:
			return "", invalid(i, `base64 section right after another ("-&" null shift)`)
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", invalid(i, "base64 section without closing '-'")
		}
		end += i + 1
		if err := decodeSection(&b, s[i+1:end], i+1); err != nil {
			return "", err
		}
		i = end + 1
		shiftEnd = i
	}
	return b.String(), nil
}

// decodeSection decodes the base64 text between '&' and '-', found at byte
// pos of the input, and appends it as UTF-8.
func decodeSection(b *strings.Builder, sec string, pos int) error {
	for j := range len(sec) {
		// Checked here because encoding/base64 skips CR and LF.
		if c := sec[j]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == ',') {
			return invalid(pos+j, fmt.Sprintf("byte %#02x in base64 section", c))
		}
	}
	raw, err := b64.DecodeString(sec)
	if err != nil || len(raw)%2 != 0 {
		return invalid(pos, "base64 section is not whole UTF-16 units with zero padding bits")
	}
	for k := 0; k < len(raw); k += 2 {
		r := rune(raw[k])<<8 | rune(raw[k+1])
		if utf16.IsSurrogate(r) {
			var low rune = -1
			if k+3 < len(raw) {
				low = rune(raw[k+2])<<8 | rune(raw[k+3])
			}
			if r = utf16.DecodeRune(r, low); r == utf8.RuneError {
				return invalid(pos, "unpaired UTF-16 surrogate")
			}
			k += 2
		}
		if r < utf8.RuneSelf && direct(byte(r)) {
			return invalid(pos, fmt.Sprintf("printable US-ASCII %q encoded in base64", r))
		}
		b.WriteRune(r)
	}
	return nil
}

func invalid(pos int, what string) error {
	return fmt.Errorf("mutf7: decoding at byte %d: %s: %w", pos, what, ErrInvalid)
}
