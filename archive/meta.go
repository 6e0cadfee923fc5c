package archive

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// HeaderInfo is what the catalog keeps of a message's header. It is read
// from the first bytes of the stream while the message is being stored, so
// a message whose header cannot be parsed is still stored, only with
// empty fields here.
type HeaderInfo struct {
	MessageID string    // without <>; "" if none
	Date      time.Time // zero if missing or unparsable
	Subject   string    // RFC 2047 decoded, valid UTF-8
	From      string    // RFC 2047 decoded, valid UTF-8
}

// maxHeadCapture bounds the bytes kept to find the header fields above; a
// header larger than this (hostile input) just yields fewer fields.
const maxHeadCapture = 256 << 10

// headCapture is an io.Writer that keeps the header part of a stream.
type headCapture struct {
	buf  []byte
	done bool
}

func (h *headCapture) Write(p []byte) (int, error) {
	if h.done {
		return len(p), nil
	}
	old := len(h.buf)
	take := min(len(p), maxHeadCapture-old)
	h.buf = append(h.buf, p[:take]...)
	from := max(0, old-3)
	if i := headerEnd(h.buf[from:]); i >= 0 {
		h.buf = h.buf[:from+i]
		h.done = true
	} else if len(h.buf) >= maxHeadCapture {
		h.done = true
	}
	return len(p), nil
}

func (h *headCapture) reset() { h.buf, h.done = h.buf[:0], false }

// headerEnd returns the offset of the blank line ending a header, or -1.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		rest := b[i+1:]
		if len(rest) > 0 && rest[0] == '\n' || len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n' {
			return i + 1
		}
	}
	return -1
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// HeaderMessageID returns the Message-ID of a header block as the catalog
// records it (the first one, unfolded, between '<' and '>'), so that
// what a server holds can be matched against the catalog.
func HeaderMessageID(head []byte) string { return parseHeaderInfo(head).MessageID }

// parseHeaderInfo is deliberately tolerant: it unfolds lines by hand and
// takes the first occurrence of each field, because the messages that
// matter most in an archive are often the ones a strict parser rejects.
func parseHeaderInfo(head []byte) HeaderInfo {
	var info HeaderInfo
	var seen [4]bool
	var cur string
	var field int = -1
	flush := func() {
		if field < 0 || seen[field] {
			return
		}
		seen[field] = true
		v := strings.TrimSpace(cur)
		switch field {
		case 0:
			info.MessageID = cleanMessageID(v)
		case 1:
			if t, err := mail.ParseDate(v); err == nil {
				info.Date = t
			}
		case 2:
			info.Subject = decodeWords(v)
		case 3:
			info.From = decodeWords(v)
		}
	}
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if field >= 0 {
				cur += " " + strings.TrimSpace(string(line))
			}
			continue
		}
		flush()
		field = -1
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "message-id":
			field = 0
		case "date":
			field = 1
		case "subject":
			field = 2
		case "from":
			field = 3
		}
		cur = string(value)
	}
	flush()
	return info
}

func cleanMessageID(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	return v
}

func decodeWords(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	v = strings.ReplaceAll(v, "\x00", "")
	return strings.ToValidUTF8(v, "\uFFFD")
}
