package extract

import (
	"fmt"
	"io"
)

// The walk visits the entity tree of one byte stream as a flat loop: open
// multiparts and embedded messages are frames on an explicit stack, so
// 10,000 nested parts cost no call stack and a missing close boundary is
// resolved by whichever enclosing boundary comes next.

type frameKind int

const (
	frameMultipart frameKind = iota
	frameMessage
)

type frame struct {
	kind    frameKind
	e       *entity
	sink    *textBuf // default sink of the children
	alt     *altState
	digest  bool  // multipart/digest: children default to message/rfc822
	start   int64 // frameMessage: stream offset of the embedded message
	attach  int   // frameMessage: index in doc.Attachments, or -1
	started bool  // frameMultipart: a boundary was seen
}

type walker struct {
	x      *extractor
	s      *scanner
	frames []*frame
}

// walk processes one byte stream holding a message (the top-level one,
// or a transfer-encoded embedded one) at depth, writing text into sink.
// It returns the message header.
func (x *extractor) walk(s *scanner, depth int, sink *textBuf, embedded bool) *header {
	w := &walker{x: x, s: s}
	s.beginPart()
	where := "message"
	if embedded {
		where = "embedded message"
	}
	h := x.readHeader(s, !embedded, where)
	e := x.newEntity(h, "text/plain", depth, sink)
	if embedded {
		x.writeSummary(e)
	}
	w.run(e)
	return h
}

// run steps through entities starting with e (which may be nil) until the
// stream ends, then closes what is still open.
func (w *walker) run(e *entity) {
	for e != nil {
		e = w.step(e)
	}
	w.closeFrames(0)
}

// step consumes entity e and returns the next entity, or nil at the end.
func (w *walker) step(e *entity) *entity {
	x, s := w.x, w.s
	if x.stopped {
		s.drainAll()
		return nil
	}
	container := e.isMultipart() || e.isMessage()
	if container && e.depth >= x.opts.MaxDepth {
		x.problem("%s: nesting deeper than %d levels, part skipped", e.where, x.opts.MaxDepth)
		container = false
	}
	if container && e.isMultipart() {
		if b := e.boundary(); b == "" || len(b) > maxBoundaryLen {
			x.problem("%s: multipart without usable boundary, read as text", e.where)
			e.mediaType = "text/plain"
			container = false
		}
	}
	encoded := e.cte == cteBase64 || e.cte == cteQP
	switch {
	case !container:
		x.leaf(e, s)
	case encoded:
		// Transfer-encoded container (against RFC 2045 §6.4, but seen).
		w.nested(e)
	case e.isMultipart():
		w.openMultipart(e, e.boundary())
	default:
		return w.openMessage(e)
	}
	return w.afterBody()
}

// openMultipart pushes a multipart frame and reads its preamble. The
// preamble is normally skipped; if the boundary never appears, it was the
// body and is indexed as text.
func (w *walker) openMultipart(e *entity, boundary string) {
	f := &frame{kind: frameMultipart, e: e, sink: e.sink, digest: e.mediaType == "multipart/digest"}
	if e.mediaType == "multipart/alternative" {
		f.alt = &altState{}
	}
	w.frames = append(w.frames, f)
	w.s.pushBound(boundary, len(w.frames)-1)
	// Keep the raw preamble (within the text budget) until we know whether
	// a boundary follows; usually one does and it is dropped.
	var pre []byte
	room := e.sink.remaining()
	for {
		n, err := w.s.Read(w.x.buf)
		if k := min(n, room-len(pre)); k > 0 {
			pre = append(pre, w.x.buf[:k]...)
		}
		if err != nil {
			break
		}
	}
	if w.s.ev.kind == evEOF {
		w.x.problem("%s: multipart boundary never found, body read as text", e.where)
		e.sink.sep()
		tw := newTextWriter(e.sink)
		tw.guess = true
		tw.Write(pre)
		tw.Close()
	}
	f.started = w.s.ev.kind != evEOF
}

// openMessage pushes a message frame and reads the embedded header. Its
// From/To/Date/Subject go into the text.
func (w *walker) openMessage(e *entity) *entity {
	x, s := w.x, w.s
	f := &frame{kind: frameMessage, e: e, sink: e.sink, attach: -1}
	if e.attachment {
		f.attach = len(x.doc.Attachments)
		x.doc.Attachments = append(x.doc.Attachments, Attachment{Filename: e.filename, ContentType: e.mediaType})
	}
	w.frames = append(w.frames, f)
	f.start = s.pos()
	if x.parts >= x.opts.MaxParts {
		w.stop()
		return nil
	}
	h := x.readHeader(s, false, e.where+" (embedded message)")
	child := x.newEntity(h, "text/plain", e.depth+1, e.sink)
	x.writeSummary(child)
	return child // if its header ended the part, its body reads as empty
}

// writeSummary puts an embedded message's From/To/Date/Subject into its
// sink, so a forwarded message is found by them.
func (x *extractor) writeSummary(e *entity) {
	hint := e.charset
	if hint == "" {
		hint = x.hint
	}
	if sum := x.summary(e.h, hint); sum != "" {
		e.sink.sep()
		tw := newTextWriter(e.sink)
		tw.WriteString(sum)
		tw.Close()
	}
}

// nested walks a transfer-encoded container through its decoder with a
// scanner of its own.
func (w *walker) nested(e *entity) {
	x := w.x
	cr := newCTEReader(w.s, e.cte)
	cnt := &countingReader{r: cr}
	ns := newScanner(cnt)
	if e.isMessage() {
		x.walk(ns, e.depth+1, e.sink, true)
	} else {
		// The decoded bytes are the multipart body, without a header.
		sub := &walker{x: x, s: ns}
		ns.beginPart()
		sub.openMultipart(e, e.boundary())
		sub.run(sub.afterBody())
	}
	ns.release()
	io.Copy(io.Discard, cnt)
	if cr.bad() {
		x.problem("%s: damaged %s data", e.where, cteName(e.cte))
	}
	if e.attachment {
		x.doc.Attachments = append(x.doc.Attachments, Attachment{Filename: e.filename, ContentType: e.mediaType, Size: cnt.n})
	}
}

// afterBody acts on the event that ended the current body and returns
// the next entity, or nil at the end of the stream.
func (w *walker) afterBody() *entity {
	x, s := w.x, w.s
	for {
		ev := s.ev
		if ev.kind != evDelim && ev.kind != evClose {
			return nil // EOF
		}
		if ev.frame > len(w.frames)-1 {
			return nil // cannot happen: boundaries belong to open frames
		}
		w.closeFrames(ev.frame + 1)
		f := w.frames[ev.frame]
		if f.alt != nil {
			f.alt.endChild(f.sink)
		}
		if ev.kind == evClose {
			w.closeFrames(ev.frame)
			// Epilogue: ignored up to the next enclosing boundary or EOF.
			s.beginPart()
			io.Copy(io.Discard, s)
			continue
		}
		f.started = true
		if x.parts >= x.opts.MaxParts {
			w.stop()
			return nil
		}
		s.beginPart()
		h := x.readHeader(s, false, fmt.Sprintf("part %d", x.parts))
		defType := "text/plain"
		if f.digest {
			defType = "message/rfc822"
		}
		sink := f.sink
		child := x.newEntity(h, defType, f.e.depth+1, sink)
		if f.alt != nil {
			child.sink = f.alt.childSink(child, f.sink, x.discard)
		}
		return child
	}
}

// closeFrames pops frames down to index i (inclusive), finishing each.
func (w *walker) closeFrames(i int) {
	if i < 0 {
		i = 0
	}
	for len(w.frames) > i {
		f := w.frames[len(w.frames)-1]
		w.frames = w.frames[:len(w.frames)-1]
		switch f.kind {
		case frameMultipart:
			w.s.popBounds(len(w.frames))
			if w.s.ev.kind == evEOF || w.s.ev.frame < len(w.frames) {
				if f.started {
					w.x.problem("%s: missing closing boundary", f.e.where)
				}
			}
			if f.alt != nil {
				f.alt.finish(f.sink)
			}
		case frameMessage:
			if f.attach >= 0 {
				end := w.s.ev.off
				if w.s.ev.kind == evNone {
					end = w.s.pos()
				}
				if n := end - f.start; n > 0 {
					w.x.doc.Attachments[f.attach].Size = n
				}
			}
		}
	}
}

// stop is called when MaxParts is reached.
func (w *walker) stop() {
	w.x.stopped = true
	w.x.problem("more than %d parts, rest of message skipped", w.x.opts.MaxParts)
	w.s.drainAll()
}
