package imapserver

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decodes GBK, Big5, ... in ENVELOPE
	"github.com/emersion/go-message/textproto"
)

// The structure of a message is found in one streaming pass over its
// normalised bytes: for every MIME entity the offsets of its header and
// body. BODYSTRUCTURE is built from it, and every BODY[section] is a byte
// range of the file, streamed with its exact size; nothing holds a whole
// message in memory.

// Bounds against hostile messages: deeper or further parts are treated as
// plain content of their parent.
const (
	maxDepth       = 32
	maxParts       = 2000
	maxHeaderBytes = 256 << 10 // kept for parsing; the rest of a header is skipped
	maxLineKeep    = 1024      // bytes of a body line kept to recognise boundaries
)

// entity is one MIME entity.
type entity struct {
	hdrStart, bodyStart, end int64
	typ, subtype             string
	params                   map[string]string
	id, desc, enc, location  string
	disp                     *imap.BodyStructureDisposition
	lang                     []string
	lines                    int64 // LFs in the body
	children                 []*entity
	msg                      *entity        // the embedded message of a message/rfc822 entity
	env                      *imap.Envelope // the embedded message's envelope
	nlBody                   int64          // lines before the body, while scanning
}

func (e *entity) multipart() bool { return e.typ == "multipart" }

// lineReader yields lines of the normalised message with their offsets
// and counts LFs.
type lineReader struct {
	br    *bufio.Reader
	off   int64
	nl    int64 // LFs read so far
	line  []byte
	eof   bool
	parts int
	// a line read ahead and given back
	backed    bool
	backLine  []byte
	backStart int64
	trunc     bool // the current line is longer than what next returned
}

// next reads one line and returns its first keep bytes, where it starts,
// and false at the end of the message.
func (r *lineReader) next(keep int) ([]byte, int64, bool) {
	if r.backed {
		r.backed = false
		r.off = r.backStart + int64(len(r.backLine))
		r.trunc = false
		if bytes.HasSuffix(r.backLine, []byte("\n")) {
			r.nl++
		}
		return r.backLine, r.backStart, true
	}
	if r.eof {
		return nil, r.off, false
	}
	start := r.off
	r.line = r.line[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.off += int64(len(chunk))
		if room := keep - len(r.line); room > 0 {
			r.line = append(r.line, chunk[:min(room, len(chunk))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		r.trunc = r.off-start > int64(len(r.line))
		if err != nil {
			r.eof = true
			if start == r.off {
				return nil, start, false
			}
		} else {
			r.nl++
		}
		return r.line, start, true
	}
}

// back gives a short line (a boundary) back, to be read again.
func (r *lineReader) back(line []byte, start int64) {
	r.backed, r.backLine, r.backStart = true, append(r.backLine[:0], line...), start
	r.off = start
	if bytes.HasSuffix(line, []byte("\n")) {
		r.nl--
	}
}

// boundaryOf reports whether line is "--b" or "--b--" for one of bounds,
// innermost first: it returns the index into bounds, or -1.
func (r *lineReader) boundaryOf(line []byte, bounds []string) (int, bool) {
	if r.trunc || len(line) < 3 || line[0] != '-' || line[1] != '-' {
		return -1, false
	}
	rest := line[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(rest, []byte(b)) {
			continue
		}
		tail := rest[len(b):]
		closing := bytes.HasPrefix(tail, []byte("--"))
		if closing {
			tail = tail[2:]
		}
		if len(bytes.TrimRight(tail, " \t\r\n")) == 0 {
			return i, closing
		}
	}
	return -1, false
}

// scanStructure reads the normalised message r and returns its root
// entity and the root's raw header.
func scanStructure(r io.Reader) *entity {
	lr := &lineReader{br: bufio.NewReaderSize(r, 16<<10)}
	root := &entity{}
	parseEntity(lr, root, nil, 0, "text/plain")
	return root
}

// parseEntity reads e's header and body, which start at the reader's
// position, until the end of the message or a boundary of bounds (left
// unread for the caller), and returns e's header.
func parseEntity(lr *lineReader, e *entity, bounds []string, depth int, defType string) textproto.Header {
	lr.parts++
	var head []byte
	e.hdrStart = lr.off
	for {
		line, start, ok := lr.next(maxHeaderBytes)
		if !ok {
			e.bodyStart = lr.off
			break
		}
		if i, _ := lr.boundaryOf(line, bounds); i >= 0 {
			lr.back(line, start)
			e.bodyStart = start
			break
		}
		if len(head) < maxHeaderBytes {
			head = append(head, line[:min(len(line), maxHeaderBytes-len(head))]...)
		}
		if bytes.Equal(line, []byte("\r\n")) {
			e.bodyStart = lr.off
			break
		}
	}
	e.nlBody = lr.nl
	h := parseHeader(head)
	e.fill(h, defType)

	switch {
	case e.multipart() && depth < maxDepth && lr.parts < maxParts && e.params["boundary"] != "":
		parseMultipart(lr, e, bounds, depth)
	case e.typ == "message" && (e.subtype == "rfc822" || e.subtype == "global") && depth < maxDepth && lr.parts < maxParts:
		e.msg = &entity{}
		mh := parseEntity(lr, e.msg, bounds, depth+1, "text/plain")
		e.env = imapserver.ExtractEnvelope(mh)
		e.end = e.msg.end
	default:
		readBody(lr, e, bounds, false)
	}
	e.lines = max(lr.nl-e.nlBody, 0)
	if e.msg != nil {
		// the embedded message ends where this part does
		e.msg.end = e.end
	}
	return h
}

// readBody reads content up to a boundary of bounds (left unread) or the
// end, and sets e.end. The CRLF before a boundary belongs to the boundary;
// afterLine says the content starts right after a line whose CRLF may be
// that one (a closing delimiter before an epilogue).
func readBody(lr *lineReader, e *entity, bounds []string, afterLine bool) {
	for {
		line, start, ok := lr.next(maxLineKeep)
		if !ok {
			e.end = lr.off
			return
		}
		if i, _ := lr.boundaryOf(line, bounds); i >= 0 {
			lr.back(line, start)
			e.end = start
			if start-2 >= e.bodyStart || (afterLine && start >= 2) {
				e.end = start - 2
				lr.nl-- // that CRLF is not the entity's
			}
			return
		}
	}
}

// parseMultipart reads the body of multipart entity e: preamble, parts,
// epilogue.
func parseMultipart(lr *lineReader, e *entity, bounds []string, depth int) {
	inner := append(bounds[:len(bounds):len(bounds)], e.params["boundary"])
	me := len(inner) - 1
	childType := "text/plain"
	if e.subtype == "digest" {
		childType = "message/rfc822"
	}
	// preamble, up to the first delimiter
	for {
		line, start, ok := lr.next(maxLineKeep)
		if !ok {
			e.end = lr.off
			e.addEmptyChild()
			return
		}
		i, closing := lr.boundaryOf(line, inner)
		if i < 0 {
			continue
		}
		if i != me || closing {
			if i != me {
				lr.back(line, start)
				e.end = max(e.bodyStart, start-2)
				e.addEmptyChild()
				return
			}
			break
		}
		// parts, each followed by a delimiter
		for {
			c := &entity{}
			if lr.parts >= maxParts {
				c.bodyStart = lr.off
				c.hdrStart = lr.off
				c.typ, c.subtype = "application", "octet-stream"
				readBody(lr, c, inner, false)
			} else {
				parseEntity(lr, c, inner, depth+1, childType)
			}
			e.children = append(e.children, c)
			line, start, ok = lr.next(maxLineKeep)
			if !ok {
				e.end = lr.off
				return
			}
			i, closing = lr.boundaryOf(line, inner)
			if i != me {
				lr.back(line, start)
				e.end = max(e.bodyStart, start-2)
				return
			}
			if closing {
				break
			}
		}
		break
	}
	e.addEmptyChild()
	// epilogue, up to an outer boundary or the end
	readBody(lr, e, bounds, true)
}

// addEmptyChild gives a multipart without parts one empty text part, so
// that BODYSTRUCTURE stays well formed.
func (e *entity) addEmptyChild() {
	if len(e.children) > 0 {
		return
	}
	e.children = append(e.children, &entity{hdrStart: e.end, bodyStart: e.end, end: e.end,
		typ: "text", subtype: "plain", params: map[string]string{"charset": "us-ascii"}})
}

// parseHeader parses raw header bytes leniently.
func parseHeader(head []byte) textproto.Header {
	if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		head = append(head, "\r\n"...)
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(head)))
	return h
}

// fill sets e's MIME fields from its header.
func (e *entity) fill(h textproto.Header, defType string) {
	mh := gomessage.Header{Header: h}
	mt, params, err := mh.ContentType()
	if err != nil || mt == "" || !strings.Contains(mt, "/") {
		mt, params = defType, nil
		if defType == "text/plain" {
			params = map[string]string{"charset": "us-ascii"}
		}
	}
	e.typ, e.subtype, _ = strings.Cut(strings.ToLower(mt), "/")
	e.params = params
	e.id = h.Get("Content-Id")
	e.desc = h.Get("Content-Description")
	e.enc = strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	e.location = h.Get("Content-Location")
	if disp, dp, err := mh.ContentDisposition(); err == nil && disp != "" {
		e.disp = &imap.BodyStructureDisposition{Value: disp, Params: dp}
	}
	if v := h.Get("Content-Language"); v != "" {
		for _, l := range strings.Split(v, ",") {
			if l = strings.TrimSpace(l); l != "" {
				e.lang = append(e.lang, l)
			}
		}
	}
}

// bodyStructure converts e (a part, or the root) to go-imap's form.
func (e *entity) bodyStructure() imap.BodyStructure {
	if e.multipart() && len(e.children) > 0 {
		bs := &imap.BodyStructureMultiPart{Subtype: e.subtype, Extended: &imap.BodyStructureMultiPartExt{
			Params: e.params, Disposition: e.disp, Language: e.lang, Location: e.location}}
		for _, c := range e.children {
			bs.Children = append(bs.Children, c.bodyStructure())
		}
		return bs
	}
	typ, sub := e.typ, e.subtype
	// A multipart without boundary, or a multipart or message/rfc822 too
	// deep to parse, is content only. It must not keep a message type: a
	// MESSAGE/RFC822 part must carry an envelope and a body structure
	// (RFC 3501 body-type-msg), and clients fail to parse one without them.
	if typ == "multipart" || e.msg == nil && typ == "message" && (sub == "rfc822" || sub == "global") {
		typ, sub = "application", "octet-stream"
	}
	bs := &imap.BodyStructureSinglePart{Type: typ, Subtype: sub, Params: e.params, ID: e.id,
		Description: e.desc, Encoding: e.enc, Size: uint32(min(e.end-e.bodyStart, 1<<32-1)),
		Extended: &imap.BodyStructureSinglePartExt{Disposition: e.disp, Language: e.lang, Location: e.location}}
	if e.msg != nil {
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{Envelope: e.env, BodyStructure: e.msg.bodyStructure(), NumLines: e.lines}
	} else if typ == "text" {
		bs.Text = &imap.BodyStructureText{NumLines: e.lines}
	}
	return bs
}
