package dovecottest

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// IMAP mailbox names on the wire and Maildir++ directory names are in
// modified UTF-7 (RFC 3501 section 5.1.3): printable ASCII stands for itself
// except '&', which is written "&-"; everything else is UTF-16BE in base64
// with ',' instead of '/', enclosed in '&' ... '-'. Only encoding is needed
// here: doveadm prints names in UTF-8.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// encodeMUTF7 converts a UTF-8 mailbox name to modified UTF-7.
func encodeMUTF7(s string) string {
	var b strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		buf := make([]byte, 0, 2*len(run))
		for _, u := range run {
			buf = append(buf, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = utf16.AppendRune(run, r)
		}
	}
	flush()
	return b.String()
}
