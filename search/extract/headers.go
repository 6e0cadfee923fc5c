package extract

import (
	"bytes"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// header holds the fields of one header block that extraction uses, as
// raw unfolded bytes; decoding waits until the charset hint is known.
type header struct {
	fields []field
}

type field struct {
	key string // lower case
	val []byte
}

// keptFields are the only fields stored; the rest are skipped.
var keptFields = map[string]bool{
	"content-type": true, "content-transfer-encoding": true, "content-disposition": true,
	"subject": true, "from": true, "to": true, "cc": true, "bcc": true, "reply-to": true,
	"message-id": true, "date": true,
}

// keptKey returns the lower-cased name if the field is kept, without
// allocating for the fields that are not (a huge header is mostly those).
func keptKey(name []byte) (string, bool) {
	name = bytes.TrimRight(name, " \t")
	var buf [32]byte
	if len(name) > len(buf) {
		return "", false
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	key, ok := keptNames[string(buf[:len(name)])]
	return key, ok
}

// keptNames maps each kept name to itself, so lookups return a shared
// string.
var keptNames = func() map[string]string {
	m := make(map[string]string, len(keptFields))
	for k := range keptFields {
		m[k] = k
	}
	return m
}()

// get returns the first value of key, or "".
func (h *header) get(key string) string {
	for _, f := range h.fields {
		if f.key == key {
			return string(f.val)
		}
	}
	return ""
}

// all returns every value of key.
func (h *header) all(key string) []string {
	var vs []string
	for _, f := range h.fields {
		if f.key == key {
			vs = append(vs, string(f.val))
		}
	}
	return vs
}

// readHeader reads one header block from s. It stops at the blank line,
// at a boundary line (recorded in s.ev: the part has no body), at EOF
// (a message with no body), or at a line that is not a field (returned to
// the body, reported). At most MaxHeaderBytes are read into memory; the
// rest of an oversized header is skipped while streaming, and reported.
func (x *extractor) readHeader(s *scanner, top bool, where string) *header {
	hr := headerReader{h: &header{}, max: x.opts.MaxHeaderBytes}
	if s.done {
		return hr.h // the part ended before its header (empty part)
	}
	first := true
	for {
		line, start, ok := s.next()
		if !ok {
			s.finish(event{kind: evEOF, off: s.pos()})
			return hr.h
		}
		if !start { // more of an overlong line
			hr.add(line)
		} else if f, cl, m := s.match(line); m {
			s.endAt(line, f, cl)
			return hr.h
		} else if len(line) == eolLen(line) { // blank line: end of header
			return hr.h
		} else if line[0] == ' ' || line[0] == '\t' {
			hr.add(line) // continuation: unfold by dropping the line break
		} else if i := fieldKeyEnd(line); i > 0 {
			hr.cur = nil
			if key, ok := keptKey(line[:i]); ok && hr.total < hr.max {
				hr.h.fields = append(hr.h.fields, field{key: key})
				hr.cur = &hr.h.fields[len(hr.h.fields)-1]
			}
			hr.total += i + 1
			hr.add(line[i+1:])
		} else if first && top && bytes.HasPrefix(line, []byte("From ")) {
			hr.cur = nil // mbox "From " envelope line left in front
		} else {
			x.problem("%s: malformed header line, treated as start of body", where)
			s.unread(line)
			return hr.h
		}
		first = false
		if hr.total > hr.max && !hr.hit {
			hr.hit = true
			x.problem("%s: header exceeds %d bytes, rest of header skipped", where, hr.max)
		}
	}
}

// headerReader accumulates kept field values within a byte budget.
type headerReader struct {
	h     *header
	cur   *field // field being continued; nil when skipped
	total int    // header bytes seen
	max   int
	hit   bool
}

// add appends a piece of the current field's value without its line end.
// Only bytes up to the budget are kept, so the field that crosses it keeps
// its beginning.
func (hr *headerReader) add(piece []byte) {
	start := hr.total
	hr.total += len(piece)
	if hr.cur == nil || start >= hr.max {
		return
	}
	piece = piece[:len(piece)-eolLen(piece)]
	if room := hr.max - start; len(piece) > room {
		piece = piece[:room]
	}
	hr.cur.val = append(hr.cur.val, piece...)
}

// fieldKeyEnd returns the index of the colon ending a field name, or -1
// when line does not start with a field name (RFC 5322 §2.2: printable
// ASCII except colon; trailing blanks before the colon are tolerated).
func fieldKeyEnd(line []byte) int {
	for i, c := range line {
		switch {
		case c == ':':
			if len(bytes.TrimRight(line[:i], " \t")) == 0 {
				return -1
			}
			return i
		case c == ' ' || c == '\t':
			// only allowed between the name and the colon
			rest := bytes.TrimLeft(line[i:], " \t")
			if len(rest) == 0 || rest[0] != ':' {
				return -1
			}
		case c < 33 || c > 126:
			return -1
		}
		if i > 200 {
			return -1
		}
	}
	return -1
}

// headerText decodes an unstructured field (Subject): raw 8-bit bytes by
// hint or heuristic, then RFC 2047 encoded words.
func (x *extractor) headerText(raw, hint string) string {
	if raw == "" {
		return ""
	}
	return cleanLine(x.decodeWords(decode8bit([]byte(raw), hint)))
}

// messageID returns the first <id> of a Message-ID field without the
// angle brackets, or the trimmed value if there is none.
func (x *extractor) messageID(raw, hint string) string {
	v := cleanLine(decode8bit([]byte(raw), hint))
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.TrimSpace(v[i+1 : i+j])
		}
		return strings.TrimSpace(v[i+1:])
	}
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return ""
}

// dateLayouts are tried after net/mail.ParseDate, for dates seen in the
// wild that it rejects.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04:05",
	"Mon, 2 January 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	time.RFC3339,
	"2006-01-02T15:04:05",
	"Mon, 2 Jan 2006",
	"2 Jan 2006",
}

// parseDate parses a Date field; ok is false when it cannot.
func parseDate(raw string) (t time.Time, ok bool) {
	v := strings.TrimSpace(raw)
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// Drop comments, a trailing zone name after a numeric zone, commas
	// after the day name, and repeated blanks.
	if i := strings.IndexByte(v, '('); i > 0 {
		v = v[:i]
	}
	v = strings.Join(strings.Fields(strings.ReplaceAll(v, ",", ", ")), " ")
	v = strings.ReplaceAll(v, " ,", ",")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	// A numeric zone followed by a zone name: "... +0100 CET".
	if f := strings.Fields(v); len(f) > 1 {
		short := strings.Join(f[:len(f)-1], " ")
		for _, l := range dateLayouts {
			if t, err := time.Parse(l, short); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// summary renders the main fields of an embedded message as text, so a
// forwarded message is found by its subject and sender.
func (x *extractor) summary(h *header, hint string) string {
	var b strings.Builder
	for _, k := range []string{"from", "to", "cc"} {
		vs := h.all(k)
		if len(vs) == 0 {
			continue
		}
		var parts []string
		for _, a := range x.addresses(vs, hint) {
			switch {
			case a.Name != "" && a.Addr != "":
				parts = append(parts, a.Name+" <"+a.Addr+">")
			case a.Addr != "":
				parts = append(parts, a.Addr)
			default:
				parts = append(parts, a.Name)
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", strings.ToUpper(k[:1])+k[1:], strings.Join(parts, ", "))
	}
	if d := h.get("date"); d != "" {
		fmt.Fprintf(&b, "Date: %s\n", cleanLine(decode8bit([]byte(d), hint)))
	}
	if s := h.get("subject"); s != "" {
		fmt.Fprintf(&b, "Subject: %s\n", x.headerText(s, hint))
	}
	return b.String()
}
