package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Writer writes messages as mboxrd with LF line endings. Each WriteMessage
// flushes, so between calls the output is a complete mbox that ends with an
// empty line, and appending more messages to it later is safe. A Writer has
// nothing to close.
type Writer struct {
	cw countingWriter
	bw *bufio.Writer
	br *bufio.Reader // reads the body; reused across messages

	// Body state: the last body byte consumed (for the CRCRLF rule) and
	// whether a CR ending a fragment waits for the next one.
	prev   byte
	heldCR bool
}

// NewWriter returns a writer of an mbox to w.
func NewWriter(w io.Writer) *Writer { return newWriter(w, 64<<10) }

// newWriter lets tests shrink the body buffer so that long-line handling
// (fragments, a CR held across them) runs on short inputs.
func newWriter(w io.Writer, bodyBuf int) *Writer {
	mw := &Writer{cw: countingWriter{w: w}}
	mw.bw = bufio.NewWriterSize(&mw.cw, 64<<10)
	mw.br = bufio.NewReaderSize(nil, bodyBuf)
	return mw
}

// WriteMessage writes one message: a From_ line, body with From_ lines
// quoted mboxrd-style and CRLF converted to LF (see the package doc), a
// final newline if body lacks one, and the empty separator line. It returns
// the number of bytes written to the underlying writer.
//
// An empty sender becomes MAILER-DAEMON; blanks and control bytes in it
// become '_', and it is cut to keep the From_ line within the 1024 bytes a
// reader accepts. A zero date becomes the Unix epoch. The date is written in
// UTC, to the second, so its year must be 0 to 9999.
//
// On error the output may hold part of the message: truncate it by the
// returned count to drop it. After an error writing, the Writer is unusable.
func (w *Writer) WriteMessage(sender string, date time.Time, body io.Reader) (int64, error) {
	start := w.cw.n
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	date = date.UTC()
	if y := date.Year(); y < 0 || y > 9999 {
		return 0, fmt.Errorf("mbox: writing From_ line: year %d of date %v cannot be written in asctime form", y, date)
	}
	w.bw.WriteString("From ")
	w.bw.WriteString(sanitizeSender(sender))
	w.bw.WriteByte(' ')
	w.bw.WriteString(date.Format(asctime))
	w.bw.WriteByte('\n')
	err := w.writeBody(body)
	if ferr := w.bw.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("mbox: writing message: %w", ferr)
	}
	return w.cw.n - start, err
}

// writeBody copies body line by line, in chunks of the buffer size for long
// lines: only the start and the end of a line can need changing.
func (w *Writer) writeBody(body io.Reader) error {
	w.br.Reset(body)
	defer w.br.Reset(nil) // do not keep the caller's reader
	w.prev, w.heldCR = 0, false
	empty, lineStart := true, true
	for {
		if lineStart {
			n, err := w.quoteRun()
			if err != nil {
				return err
			}
			if n > 0 {
				empty = false
			}
		}
		frag, err := w.br.ReadSlice('\n')
		if len(frag) > 0 {
			w.emit(frag)
			empty = false
		}
		lineStart = len(frag) > 0 && frag[len(frag)-1] == '\n'
		switch {
		case errors.Is(err, io.EOF):
			w.finish(empty)
			return nil
		case err != nil && !errors.Is(err, bufio.ErrBufferFull):
			return fmt.Errorf("mbox: reading message body: %w", err)
		}
		if _, err := w.bw.Write(nil); err != nil { // bufio's sticky write error
			return fmt.Errorf("mbox: writing message: %w", err)
		}
	}
}

// quoteRun copies the run of '>' starting a line, adding one if the run is
// followed by "From ". It returns how many body bytes it consumed.
func (w *Writer) quoteRun() (int64, error) {
	var n int64
	for {
		if _, err := w.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return n, fmt.Errorf("mbox: reading message body: %w", err)
		}
		b, _ := w.br.Peek(w.br.Buffered())
		k := len(b) - len(bytes.TrimLeft(b, ">"))
		w.bw.Write(b[:k])
		w.br.Discard(k)
		n += int64(k)
		if k < len(b) {
			break
		}
	}
	b, err := w.br.Peek(len(fromPrefix))
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("mbox: reading message body: %w", err)
	}
	if bytes.Equal(b, fromPrefix) {
		w.bw.WriteByte('>')
	}
	if n > 0 {
		w.prev = '>'
	}
	return n, nil
}

// emit writes one fragment of a line (all of it if it ends with '\n'),
// turning its final CRLF into LF unless the CR follows a CR. A CR that ends
// a partial fragment is held until the next byte is known.
func (w *Writer) emit(frag []byte) {
	if w.heldCR {
		w.heldCR = false
		if frag[0] == '\n' && w.prev != '\r' {
			w.bw.WriteByte('\n') // drop the held CR; frag is "\n"
			w.prev = '\n'
			return
		}
		w.bw.WriteByte('\r')
		w.prev = '\r'
	}
	n := len(frag)
	before := func(i int) byte { // the body byte at frag[i], i may be -1
		if i < 0 {
			return w.prev
		}
		return frag[i]
	}
	switch {
	case n >= 2 && frag[n-1] == '\n' && frag[n-2] == '\r' && before(n-3) != '\r':
		w.bw.Write(frag[:n-2])
		w.bw.WriteByte('\n')
	case frag[n-1] == '\r':
		w.bw.Write(frag[:n-1])
		w.heldCR, w.prev = true, before(n-2)
		return
	default:
		w.bw.Write(frag)
	}
	w.prev = frag[n-1]
}

// finish ends the body with a newline if it lacks one (pairing a held CR
// with it, as in emit) and writes the separator line.
func (w *Writer) finish(empty bool) {
	switch {
	case w.heldCR && w.prev == '\r':
		w.bw.WriteString("\r\n")
	case w.heldCR:
		w.bw.WriteByte('\n')
	case !empty && w.prev != '\n':
		w.bw.WriteByte('\n')
	}
	w.bw.WriteByte('\n')
}

// countingWriter counts the bytes that reached w, for WriteMessage's result.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
