package pop3

import (
	"bytes"
	"net/mail"
	"strings"
	"time"
)

// POP3 has no INTERNALDATE. The best stand-in is the time the message
// reached the maildrop, which the newest Received field records (RFC 5321
// §4.4: every hop prepends one, so the newest is the topmost); failing
// that, the Date field; failing that, the archive uses the time of import.
//
// The date is read from the message's own header as it streams into the
// archive, captured by headerCapture on the way: TOP n 0 would cost a round
// trip per message and send the header twice, and break the RETR pipeline.

// maxHeaderCapture bounds what is kept of a header. The newest Received is
// near the top, so a hostile or broken header longer than this only loses
// the Date fallback when Date comes late.
const maxHeaderCapture = 256 << 10

// headerCapture is an io.Writer that keeps a message's header.
type headerCapture struct {
	buf  []byte
	done bool
}

func (h *headerCapture) Write(p []byte) (int, error) {
	if h.done {
		return len(p), nil
	}
	from := max(0, len(h.buf)-2)
	h.buf = append(h.buf, p[:min(len(p), maxHeaderCapture-len(h.buf))]...)
	if i := headerEnd(h.buf[from:]); i >= 0 {
		h.buf = h.buf[:from+i]
		h.done = true
	} else if len(h.buf) >= maxHeaderCapture {
		h.done = true
	}
	return len(p), nil
}

func (h *headerCapture) reset() { h.buf, h.done = h.buf[:0], false }

// headerEnd returns the length of the header in b (up to the empty line)
// or -1. Line ends may be CRLF, LF or, in old Mac files, CR alone.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\n' && i+1 < len(b) && b[i+1] == '\n',
			b[i] == '\n' && i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n',
			b[i] == '\r' && i+1 < len(b) && b[i+1] == '\r':
			return i + 1
		}
	}
	return -1
}

// internalDate returns the date of the newest Received field that has a
// valid one, else the Date field's, else the zero time.
func internalDate(head []byte) time.Time {
	var date time.Time
	for _, f := range headerFields(head) {
		name, value, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "received":
			// "... ; date-time" (RFC 5321 §4.4 Time-stamp-line)
			if i := strings.LastIndexByte(value, ';'); i >= 0 {
				if t, ok := parseDate(value[i+1:]); ok {
					return t
				}
			}
		case "date":
			if date.IsZero() {
				if t, ok := parseDate(value); ok {
					date = t
				}
			}
		}
	}
	return date
}

func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	t, err := mail.ParseDate(s)
	if err != nil {
		// A trailing comment mail.ParseDate does not know, "(CEST)" after
		// a numeric zone with odd spacing, for example.
		if i := strings.LastIndexByte(s, '('); i > 0 {
			t, err = mail.ParseDate(strings.TrimSpace(s[:i]))
		}
	}
	if err != nil || t.Unix() <= 0 {
		return time.Time{}, false
	}
	return t, true
}

// headerFields splits a header into unfolded fields.
func headerFields(head []byte) []string {
	var out []string
	for len(head) > 0 {
		line := head
		i := bytes.IndexAny(head, "\r\n")
		if i < 0 {
			head = nil
		} else {
			line = head[:i]
			eol := 1
			if head[i] == '\r' && i+1 < len(head) && head[i+1] == '\n' {
				eol = 2
			}
			head = head[i+eol:]
		}
		if len(line) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += " " + strings.TrimSpace(string(line))
			continue
		}
		out = append(out, string(line))
	}
	return out
}
