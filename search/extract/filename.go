package extract

// maxFilename bounds a stored attachment name (bytes of UTF-8).
const maxFilename = 1024

// filename picks an attachment name: Content-Disposition filename (RFC
// 2231 filename* and continuations first), then Content-Type name. hint
// is the charset used for raw 8-bit names.
func (x *extractor) filename(disp, ctype params, hint string) string {
	for _, c := range []struct {
		ps  params
		key string
	}{{disp, "filename"}, {ctype, "name"}} {
		pv, ok := c.ps[c.key]
		if !ok || pv.value == "" {
			continue
		}
		if name := x.paramText(pv, hint); name != "" {
			if len(name) > maxFilename {
				name = truncateUTF8(name, maxFilename)
			}
			return name
		}
	}
	return ""
}

// paramText decodes a parameter value to clean UTF-8. An RFC 2231 value is
// decoded from its declared charset by the extractor itself (go-message
// and mime.ParseMediaType give up on charsets other than UTF-8); a plain
// value may be raw 8-bit text or hold RFC 2047 words, which many mailers
// put inside quotes despite the RFC.
func (x *extractor) paramText(pv paramValue, hint string) string {
	if pv.ext {
		if pv.charset == "" {
			return cleanLine(decode8bit([]byte(pv.value), hint))
		}
		return cleanLine(x.decodeCharset(pv.charset, []byte(pv.value)))
	}
	return cleanLine(x.decodeWords(decode8bit([]byte(pv.value), hint)))
}

// truncateUTF8 cuts s to at most n bytes at a rune boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
