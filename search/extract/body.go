package extract

import (
	"errors"
	"io"

	"golang.org/x/net/html/charset"
)

// leaf consumes the body of a leaf entity from r: text parts are decoded
// into their sink, and every byte is read so attachment sizes are exact
// and the scanner reaches the next boundary.
func (x *extractor) leaf(e *entity, r io.Reader) {
	wantText := e.isText() && !e.sink.full()
	if !wantText && !e.attachment {
		io.Copy(io.Discard, r) // nothing to decode: skip the decoders
		return
	}
	cr := newCTEReader(r, e.cte)
	cnt := &countingReader{r: cr}
	if wantText {
		x.text(e, cnt)
	}
	io.Copy(io.Discard, cnt)
	if cnt.err != nil && !errors.Is(cnt.err, io.EOF) {
		x.problem("%s: reading body: %v", e.where, cnt.err)
	}
	if cr.bad() {
		x.problem("%s: damaged %s data, decoded what was readable", e.where, cteName(e.cte))
	}
	if e.attachment {
		x.doc.Attachments = append(x.doc.Attachments, Attachment{
			Filename: e.filename, ContentType: e.mediaType, Size: cnt.n,
		})
	}
}

// text decodes a text/plain or text/html body into the entity's sink.
func (x *extractor) text(e *entity, r io.Reader) {
	label := e.charset
	if label == "" && e.isHTML() {
		label = sniffHTMLCharset(&r)
	}
	dr, guess, ok := textSource(label, r)
	if !ok {
		x.problem("%s: unknown charset %q, read as UTF-8 or windows-1252", e.where, label)
	}
	e.sink.sep()
	tw := newTextWriter(e.sink)
	tw.guess = guess
	if e.isHTML() {
		// A token may be as large as the whole body budget plus markup;
		// bigger ones could not be kept anyway.
		x.htmlToText(dr, tw, min(x.opts.MaxBodyText, 1<<30)+1<<20, e.where)
	} else {
		x.copyText(dr, tw)
	}
	tw.Close()
}

// copyText copies decoded text until EOF or until the sink is full.
func (x *extractor) copyText(r io.Reader, w *textWriter) {
	for !w.dst.full() {
		n, err := r.Read(x.buf)
		w.Write(x.buf[:n])
		if err != nil {
			return
		}
	}
}

// sniffHTMLCharset looks for a BOM or <meta charset> in the first 1024
// bytes, as browsers do, for HTML parts whose Content-Type names no
// charset. *r is replaced by a reader that still yields those bytes.
func sniffHTMLCharset(r *io.Reader) string {
	head := make([]byte, 1024)
	n, err := io.ReadFull(*r, head)
	head = head[:n]
	if err == nil {
		*r = io.MultiReader(&byteReader{b: head}, *r)
	} else {
		*r = &byteReader{b: head}
	}
	// A <meta> answer is not "certain" to DetermineEncoding, but beats
	// guessing; its fallbacks (UTF-8 if valid, else windows-1252) are
	// what the empty label means anyway.
	_, name, certain := charset.DetermineEncoding(head, "text/html")
	if certain || name != "utf-8" && name != "windows-1252" {
		return name
	}
	return ""
}

type byteReader struct{ b []byte }

func (b *byteReader) Read(p []byte) (int, error) {
	if len(b.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.b)
	b.b = b.b[n:]
	return n, nil
}

// countingReader counts the bytes read through it and keeps the first
// error other than EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func cteName(k cteKind) string {
	switch k {
	case cteBase64:
		return "base64"
	case cteQP:
		return "quoted-printable"
	}
	return "8bit"
}

// altState picks one alternative of a multipart/alternative: the first
// text/plain part that has text wins; otherwise the first other part with
// text (usually the HTML), which is held back until the alternative ends
// in case a text/plain part follows it.
type altState struct {
	plain    bool     // a text/plain alternative won
	pending  *textBuf // text of the winning non-plain alternative
	cur      *textBuf // buffer of the current non-plain child
	curPlain bool
	mark     int // sink.writes when the current plain child started
	active   bool
}

// childSink chooses where a direct child writes.
func (a *altState) childSink(e *entity, sink, discard *textBuf) *textBuf {
	a.active = true
	switch {
	case a.plain:
		return discard
	case e.isPlain() && !e.attachment:
		a.curPlain, a.mark = true, sink.writes
		return sink
	case a.pending != nil:
		return discard
	}
	// Nested buffers take from the same budget, so together with the
	// body they never exceed MaxBodyText.
	a.cur = newTextBuf(sink.remaining())
	return a.cur
}

// endChild records what the child that just ended contributed.
func (a *altState) endChild(sink *textBuf) {
	if !a.active {
		return
	}
	switch {
	case a.curPlain && sink.writes > a.mark:
		a.plain, a.pending = true, nil
	case a.cur != nil && a.cur.writes > 0:
		a.pending = a.cur
	}
	a.cur, a.curPlain, a.active = nil, false, false
}

// finish writes the held-back alternative if no plain text won.
func (a *altState) finish(sink *textBuf) {
	a.endChild(sink)
	if !a.plain && a.pending != nil {
		sink.merge(a.pending)
	}
	a.pending = nil
}
