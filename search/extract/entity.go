package extract

import (
	"fmt"
	"strings"
)

// entity is one MIME entity whose header has been read.
type entity struct {
	h          *header
	mediaType  string // lower case "type/subtype"
	ctParams   params
	charset    string
	cte        cteKind
	cteRaw     string
	disp       string // "inline", "attachment" or ""
	filename   string
	depth      int      // 0 for the message itself
	sink       *textBuf // where its text goes
	where      string   // "message" or "part N", for problems
	attachment bool
}

// newEntity interprets a header. defType is the type for a part without
// Content-Type (message/rfc822 inside multipart/digest, else text/plain).
func (x *extractor) newEntity(h *header, defType string, depth int, sink *textBuf) *entity {
	e := &entity{h: h, depth: depth, sink: sink, where: "message"}
	if x.parts > 0 {
		e.where = fmt.Sprintf("part %d", x.parts)
	}
	x.parts++

	ct := h.get("content-type")
	e.mediaType, e.ctParams = parseParamHeader(ct)
	if strings.TrimSpace(ct) == "" {
		e.mediaType = defType
	} else if !validMediaType(e.mediaType) {
		// RFC 2045 §5.2: an invalid Content-Type means text/plain.
		x.problem("%s: invalid Content-Type %q, read as text/plain", e.where, truncateUTF8(cleanLine(ct), 100))
		e.mediaType = "text/plain"
	}
	if cs, ok := e.ctParams["charset"]; ok {
		e.charset = normCharset(cs.value)
		if e.charset != "" && x.hint == "" {
			x.hint = e.charset
		}
	}
	e.cteRaw = h.get("content-transfer-encoding")
	e.cte = parseCTE(e.cteRaw)
	if e.cte == cteUnknown {
		x.problem("%s: unknown Content-Transfer-Encoding %q, read as 8bit", e.where, truncateUTF8(cleanLine(e.cteRaw), 100))
	}
	var dp params
	e.disp, dp = parseParamHeader(h.get("content-disposition"))
	hint := e.charset
	if hint == "" {
		hint = x.hint
	}
	e.filename = x.filename(dp, e.ctParams, hint)
	e.attachment = e.isAttachment()
	return e
}

// validMediaType checks type "/" subtype, both RFC 2045 tokens. The
// media type is output as Attachment.ContentType, so this also keeps
// control bytes out of the Doc.
func validMediaType(t string) bool {
	i := strings.IndexByte(t, '/')
	if i <= 0 || i == len(t)-1 || len(t) > 255 {
		return false
	}
	for j := 0; j < len(t); j++ {
		c := t[j]
		if c < '!' || c > '~' || j != i && strings.IndexByte("\"()<>@,;:\\[]?=/", c) >= 0 {
			return false
		}
	}
	return true
}

func (e *entity) isMultipart() bool { return strings.HasPrefix(e.mediaType, "multipart/") }

func (e *entity) isMessage() bool {
	return e.mediaType == "message/rfc822" || e.mediaType == "message/global"
}

func (e *entity) isPlain() bool { return e.mediaType == "text/plain" }
func (e *entity) isHTML() bool  { return e.mediaType == "text/html" }
func (e *entity) isText() bool  { return e.isPlain() || e.isHTML() }

// isAttachment: explicitly attached, or named (inline images with a
// filename count), or a leaf that is not text meant for reading and not
// an unnamed inline part (e.g. a cid: image without a name).
func (e *entity) isAttachment() bool {
	switch {
	case e.disp == "attachment", e.filename != "":
		return true
	case e.isText(), e.isMultipart(), e.isMessage(), e.disp == "inline":
		return false
	}
	return true
}

func (e *entity) boundary() string {
	b := e.ctParams["boundary"].value
	return strings.TrimSpace(b)
}
