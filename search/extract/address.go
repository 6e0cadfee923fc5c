package extract

import (
	"io"
	"mime"
	"net/mail"
	"strings"
)

// maxAddresses bounds the addresses kept per field.
const maxAddresses = 1000

// addresses parses address fields (all occurrences of one field). Raw
// 8-bit text is decoded first, then net/mail parses the list; where it
// refuses, each comma-separated piece is parsed alone, and a piece it
// still refuses is kept by a best-effort fallback (see looseAddress).
func (x *extractor) addresses(raws []string, hint string) []Address {
	var out []Address
	for _, raw := range raws {
		s := strings.TrimSpace(decode8bit([]byte(raw), hint))
		if s == "" {
			continue
		}
		s = mergeEncodedWords(s)
		p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: x.wordCharsetReader}}
		if list, err := p.ParseList(s); err == nil {
			for _, a := range list {
				out = x.appendAddr(out, a.Name, a.Address)
			}
			continue
		}
		for _, piece := range splitAddressList(s) {
			if a, err := p.Parse(piece); err == nil {
				out = x.appendAddr(out, a.Name, a.Address)
				continue
			}
			name, addr := looseAddress(piece)
			out = x.appendAddr(out, name, addr)
		}
	}
	return out
}

func (x *extractor) appendAddr(out []Address, name, addr string) []Address {
	if len(out) >= maxAddresses {
		return out
	}
	// net/mail leaves encoded words inside quoted display names alone.
	name = cleanLine(x.decodeWords(name))
	addr = cleanLine(addr)
	if name == "" && addr == "" {
		return out
	}
	return append(out, Address{Name: name, Addr: addr})
}

// wordCharsetReader lets net/mail decode any charset the extractor knows;
// it never fails, so one odd word cannot lose a whole address list.
func (x *extractor) wordCharsetReader(label string, r io.Reader) (io.Reader, error) {
	dr, ok := decodingReader(label, r)
	if !ok {
		x.problem("unknown charset %q in header", normCharset(label))
	}
	return dr, nil
}

// splitAddressList splits at commas outside quotes, comments and angle
// brackets. Group syntax ("team: a@x, b@y;") is flattened.
func splitAddressList(s string) []string {
	var out []string
	depth, angle, quoted, at := 0, false, false, false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case angle:
		case c == ',' || c == ';':
			out = appendPiece(out, s[start:i])
			start, at = i+1, false
		case c == '@':
			at = true
		case c == ':' && !at:
			start = i + 1 // group name
		}
	}
	return appendPiece(out, s[start:])
}

func appendPiece(out []string, p string) []string {
	if p = strings.TrimSpace(p); p != "" {
		out = append(out, p)
	}
	return out
}

// looseAddress is the fallback for a piece net/mail rejects: the address
// is the text in <...>, else the first token containing "@"; the rest of
// the raw text, unquoted, is the name.
func looseAddress(piece string) (name, addr string) {
	if i := strings.IndexByte(piece, '<'); i >= 0 {
		if j := strings.IndexByte(piece[i:], '>'); j > 0 {
			addr = strings.TrimSpace(piece[i+1 : i+j])
			name = piece[:i] + " " + piece[i+j+1:]
			return trimName(name), addr
		}
	}
	fields := strings.FieldsFunc(piece, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '<' || r == '>' || r == '(' || r == ')' || r == '"' || r == ','
	})
	for _, f := range fields {
		if strings.Contains(f, "@") {
			addr = strings.Trim(f, ".;:'[]")
			name = strings.Replace(piece, f, " ", 1)
			return trimName(name), addr
		}
	}
	return trimName(piece), ""
}

func trimName(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Trim(s, " \"'()<>")
	return strings.TrimSpace(s)
}
