package extract

import (
	"sort"
	"strconv"
	"strings"
)

// A tolerant parser for MIME header parameters (Content-Type,
// Content-Disposition) with RFC 2231 extensions. mime.ParseMediaType
// rejects much real mail (unquoted specials, duplicates, stray text) and
// drops RFC 2231 values in charsets other than UTF-8 and ASCII, so the
// extractor parses parameters itself and keeps the raw bytes for the
// caller to decode.

type paramValue struct {
	value   string // plain value: unquoted, may hold 8-bit bytes or encoded words
	ext     bool   // value came from RFC 2231 extended syntax
	charset string // RFC 2231 charset of an extended value
}

type params map[string]paramValue

// segment is one piece of an RFC 2231 value: name*N or name*N*.
type segment struct {
	idx     int
	encoded bool
	val     string
}

// maxSegments bounds RFC 2231 continuations per parameter.
const maxSegments = 1000

// parseParamHeader splits a header value into its lower-cased first token
// ("text/plain", "attachment") and its parameters.
func parseParamHeader(s string) (string, params) {
	s = strings.TrimLeft(s, " \t")
	end := strings.IndexAny(s, "; \t")
	if end < 0 {
		end = len(s)
	}
	token := strings.ToLower(strings.TrimSpace(s[:end]))
	ps := params{}
	segs := map[string][]segment{}
	i := end
	for i < len(s) {
		for i < len(s) && (s[i] == ';' || s[i] == ' ' || s[i] == '\t') {
			i++
		}
		k := i
		for i < len(s) && s[i] != '=' && s[i] != ';' {
			i++
		}
		key := strings.ToLower(strings.TrimSpace(s[k:i]))
		if i >= len(s) || s[i] == ';' {
			continue // a key without a value
		}
		i++ // '='
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		var val string
		val, i = paramValueAt(s, i)
		if key == "" {
			continue
		}
		if base, idx, enc, ok := splitExtKey(key); ok {
			if len(segs[base]) < maxSegments {
				segs[base] = append(segs[base], segment{idx: idx, encoded: enc, val: val})
			}
			continue
		}
		if _, dup := ps[key]; !dup {
			ps[key] = paramValue{value: val}
		}
	}
	for base, ss := range segs {
		ps[base] = joinSegments(ss, ps[base])
	}
	return token, ps
}

// paramValueAt reads a quoted string or a token starting at s[i] and
// returns it with the index after it. A token runs to the next ';' so
// unquoted values with spaces or specials ("boundary=----=_Part_1") work.
func paramValueAt(s string, i int) (string, int) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		i++
		for i < len(s) && s[i] != '"' {
			// Backslash escapes only '"' and '\', so Windows paths in
			// file names survive.
			if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				i++
			}
			b.WriteByte(s[i])
			i++
		}
		if i < len(s) {
			i++ // closing quote
		}
		for i < len(s) && s[i] != ';' { // junk after the quoted string
			i++
		}
		return b.String(), i
	}
	j := strings.IndexByte(s[i:], ';')
	if j < 0 {
		j = len(s) - i
	}
	return strings.TrimSpace(s[i : i+j]), i + j
}

// splitExtKey recognises RFC 2231 names: "name*" (single extended),
// "name*N" and "name*N*" (continuations).
func splitExtKey(key string) (base string, idx int, encoded, ok bool) {
	star := strings.IndexByte(key, '*')
	if star <= 0 {
		return "", 0, false, false
	}
	base, rest := key[:star], key[star+1:]
	if rest == "" {
		return base, 0, true, true
	}
	if strings.HasSuffix(rest, "*") {
		encoded = true
		rest = rest[:len(rest)-1]
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n >= maxSegments {
		return "", 0, false, false
	}
	return base, n, encoded, true
}

// joinSegments assembles RFC 2231 pieces in index order (stopping at a
// gap): the charset comes from the first encoded piece, percent escapes
// are decoded in encoded pieces, plain pieces are taken literally. The
// result's value holds raw bytes in that charset.
func joinSegments(ss []segment, plain paramValue) paramValue {
	sort.SliceStable(ss, func(a, b int) bool { return ss[a].idx < ss[b].idx })
	var b strings.Builder
	pv := paramValue{}
	want := ss[0].idx // "name*" alone has index 0; tolerate a missing 0
	for n, sg := range ss {
		if n > 0 && sg.idx == ss[n-1].idx {
			continue // duplicate index: first wins
		}
		if sg.idx != want {
			break
		}
		want++
		v := sg.val
		if sg.encoded {
			if !pv.ext {
				pv.ext = true
				// charset'language'value; a value without quotes is taken whole
				if p := strings.IndexByte(v, '\''); p >= 0 {
					if q := strings.IndexByte(v[p+1:], '\''); q >= 0 {
						pv.charset = normCharset(v[:p])
						v = v[p+1+q+1:]
					}
				}
			}
			v = percentDecode(v)
		}
		b.WriteString(v)
	}
	pv.value = b.String()
	if pv.value == "" && plain.value != "" {
		return plain
	}
	return pv
}

// percentDecode decodes %XX escapes, leaving malformed ones as they are.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}
