package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Format selects which quoted From_ lines the reader unquotes.
type Format int

const (
	// MboxRD unquotes every line matching `^>+From ` by one ">". It is the
	// default and what [Writer] writes.
	MboxRD Format = iota
	// MboxO unquotes only lines matching `^>From `.
	MboxO
)

// String returns "mboxrd" or "mboxo".
func (f Format) String() string {
	switch f {
	case MboxRD:
		return "mboxrd"
	case MboxO:
		return "mboxo"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ReaderOptions configures a [Reader]. The zero value reads mboxrd from
// offset 0.
type ReaderOptions struct {
	// Format is the quoting convention of the file; zero means MboxRD.
	Format Format
	// BaseOffset is the offset in the file of the reader's first byte, added
	// to every offset the reader reports. Set it when resuming at a
	// [Message.End] recorded earlier, on a file seeked there.
	BaseOffset int64
}

// FormatError reports input that is not an mbox where a From_ line is
// expected. It is not sticky: the next call to [Reader.Next] skips to the
// next separator (an empty line followed by a From_ line) and goes on.
type FormatError struct {
	Offset int64  // where the From_ line was expected
	Reason string // what was found instead
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("mbox: reading at offset %d: %s", e.Offset, e.Reason)
}

// Message is one message of an mbox. Its fields stay valid after the next
// call to [Reader.Next]; its Body does not.
type Message struct {
	From   string    // the From_ line without "From " and its line ending
	Sender string    // the first token of From, usually the envelope sender
	Date   time.Time // the From_ line date (UTC unless a zone is given); zero if unparsable
	Offset int64     // offset of the From_ line in the input
	// Body streams the message bytes, unquoted, without the From_ line and
	// the framing empty line. It is valid until the next call to Next.
	Body io.Reader

	end int64
}

// End returns the offset just past the message: where the next From_ line
// or the end of the input starts. It is -1 until Body has returned io.EOF
// (or Next has skipped the rest of Body).
func (m *Message) End() int64 { return m.end }

type readState int

const (
	stateStart readState = iota // nothing read: a From_ line must come first
	stateFrom                   // at a From_ line
	stateBody                   // inside r.cur
	stateEOF                    // at the end of the input
)

var fromPrefix = []byte("From ")

// Reader reads messages from an mbox stream. It reads ahead through one
// buffer and never holds a whole line or message.
type Reader struct {
	br      *bufio.Reader
	format  Format
	maxFrom int   // maxFromLine, smaller in tests
	off     int64 // absolute offset of br's next unread byte
	state   readState
	err     error    // sticky read error, already wrapped
	cur     *Message // message being read (a hidden one while skipping garbage)

	// Body state of cur.
	lineStart bool   // br is at the start of a line
	quote     int64  // '>' bytes to return before pend
	pend      []byte // bytes to return, aliasing br's buffer
}

// NewReader returns a reader of the mbox in r.
func NewReader(r io.Reader, opts ReaderOptions) *Reader {
	return newReader(r, opts, 64<<10, maxFromLine)
}

// newReader lets tests shrink the buffer to exercise chunk boundaries.
func newReader(r io.Reader, opts ReaderOptions, bufSize, maxFrom int) *Reader {
	// The look-ahead after an empty line ("\r\n") is a whole From_ line plus
	// one byte to see the end of the input.
	bufSize = max(bufSize, maxFrom+3)
	return &Reader{
		br:      bufio.NewReaderSize(&stickyReader{r: r}, bufSize),
		format:  opts.Format,
		maxFrom: maxFrom,
		off:     opts.BaseOffset,
	}
}

// Next returns the next message, or io.EOF after the last one. It skips
// what is left of the previous message's Body. An input that does not start
// with "From " gives a *FormatError first (then Next skips to the next
// separator); an empty input gives io.EOF. Other errors are sticky.
func (r *Reader) Next() (*Message, error) {
	if r.cur != nil {
		if err := r.skipBody(); err != nil {
			return nil, err
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	switch r.state {
	case stateEOF:
		return nil, io.EOF
	case stateStart:
		b, err := r.peek(len(fromPrefix))
		if err != nil {
			return nil, r.fail(err)
		}
		if len(b) == 0 {
			r.state = stateEOF
			return nil, io.EOF
		}
		if !bytes.Equal(b, fromPrefix) {
			return nil, r.garbage("input does not start with a From_ line")
		}
	}
	line, err := r.peekLine(0)
	if err != nil {
		return nil, r.fail(err)
	}
	if line == nil {
		return nil, r.garbage(fmt.Sprintf("From_ line longer than %d bytes", r.maxFrom))
	}
	m := &Message{From: string(trimEOL(line[len(fromPrefix):])), Offset: r.off, end: -1}
	m.Sender, m.Date, _ = parseFrom(m.From)
	r.discard(len(line))
	m.Body = &body{r: r, m: m}
	r.startBody(m)
	return m, nil
}

// garbage reports a FormatError at the current offset and sets up a hidden
// message, so that the next call to Next skips to the next separator.
func (r *Reader) garbage(reason string) error {
	err := &FormatError{Offset: r.off, Reason: reason}
	r.startBody(&Message{Offset: r.off, end: -1})
	return err
}

func (r *Reader) startBody(m *Message) {
	r.cur, r.state = m, stateBody
	r.lineStart, r.quote, r.pend = true, 0, nil
}

// skipBody reads and drops what is left of r.cur.
func (r *Reader) skipBody() error {
	for r.cur != nil {
		r.quote, r.pend = 0, nil
		if _, err := r.step(); err != nil {
			return err
		}
	}
	return nil
}

// step advances r.cur's body by one piece: it sets r.quote or r.pend, or
// ends the message (done). It must be called only when both are empty.
func (r *Reader) step() (done bool, err error) {
	if r.lineStart {
		b, err := r.peek(2)
		if err != nil {
			return false, r.fail(err)
		}
		if len(b) == 0 {
			return r.endBody(stateEOF), nil
		}
		if n := blankLen(b); n > 0 {
			next, err := r.afterBlank(n)
			if err != nil {
				return false, r.fail(err)
			}
			if next != stateBody {
				r.discard(n) // the framing empty line
				return r.endBody(next), nil
			}
		} else if b[0] == '>' {
			return false, r.readQuote()
		}
	}
	frag, err := r.br.ReadSlice('\n')
	r.off += int64(len(frag))
	r.pend = frag
	r.lineStart = len(frag) > 0 && frag[len(frag)-1] == '\n'
	switch {
	case err == nil, errors.Is(err, bufio.ErrBufferFull):
		return false, nil
	case len(frag) > 0:
		// A last line without a newline, or bytes before a read error:
		// return them; the error comes again at the next step.
		return false, nil
	case errors.Is(err, io.EOF):
		return r.endBody(stateEOF), nil
	default:
		return false, r.fail(err)
	}
}

// afterBlank looks past an empty line of n bytes and tells what follows:
// a separator (stateFrom), the end of the input (stateEOF) or more of the
// message (stateBody).
func (r *Reader) afterBlank(n int) (readState, error) {
	b, err := r.peek(n + len(fromPrefix))
	if err != nil {
		return stateBody, err
	}
	if len(b) == n {
		return stateEOF, nil
	}
	if !bytes.HasPrefix(b[n:], fromPrefix) {
		return stateBody, nil
	}
	line, err := r.peekLine(n)
	if err != nil || line == nil {
		return stateBody, err
	}
	if _, _, ok := parseFrom(string(trimEOL(line[len(fromPrefix):]))); !ok {
		return stateBody, nil
	}
	return stateFrom, nil
}

// peekLine returns the line that starts n bytes ahead, line feed included,
// without consuming it; nil if it is longer than r.maxFrom. A last line
// without a line feed counts as a line.
func (r *Reader) peekLine(n int) ([]byte, error) {
	b, err := r.peek(n + r.maxFrom + 1)
	b = b[min(n, len(b)):]
	if i := bytes.IndexByte(b[:min(len(b), r.maxFrom)], '\n'); i >= 0 {
		return b[:i+1], nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) <= r.maxFrom { // Peek was short: the input ends within the line
		return b, nil
	}
	return nil, nil
}

// readQuote consumes the run of '>' starting a line and sets r.quote to the
// number to return: one less if the run quotes a From_ line. It only counts,
// so a run of any length takes no memory.
func (r *Reader) readQuote() error {
	var count int64
	for {
		b, err := r.peek(1)
		if err != nil {
			return r.fail(err)
		}
		if len(b) == 0 {
			break
		}
		b, _ = r.br.Peek(r.br.Buffered())
		k := len(b) - len(bytes.TrimLeft(b, ">"))
		r.discard(k)
		count += int64(k)
		if k < len(b) {
			break
		}
	}
	b, err := r.peek(len(fromPrefix))
	if err != nil {
		return r.fail(err)
	}
	if bytes.Equal(b, fromPrefix) && (r.format != MboxO || count == 1) {
		count--
	}
	r.quote = count
	r.lineStart = false
	return nil
}

// endBody ends r.cur at the current offset; next is the state after it.
func (r *Reader) endBody(next readState) bool {
	r.cur.end = r.off
	r.cur, r.state = nil, next
	r.quote, r.pend = 0, nil
	return true
}

// peek returns the next n bytes, fewer only at the end of the input. A read
// error is returned only if it cuts the n bytes short: the bytes before it
// are read first (stickyReader makes the error come back).
func (r *Reader) peek(n int) ([]byte, error) {
	b, err := r.br.Peek(n)
	if len(b) == n || errors.Is(err, io.EOF) {
		return b, nil
	}
	return b, err
}

func (r *Reader) discard(n int) {
	// Discard cannot fail here: the bytes were peeked already.
	k, _ := r.br.Discard(n)
	r.off += int64(k)
}

func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = fmt.Errorf("mbox: reading at offset %d: %w", r.off, err)
	}
	return r.err
}

// blankLen returns the length of the empty line at the start of b (b holds
// at least the first two bytes, or what is left of the input), or 0.
func blankLen(b []byte) int {
	switch {
	case b[0] == '\n':
		return 1
	case len(b) > 1 && b[0] == '\r' && b[1] == '\n':
		return 2
	}
	return 0
}

// trimEOL removes a final "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if b, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		return bytes.TrimSuffix(b, []byte("\r"))
	}
	return b
}

// stickyReader repeats the first error of r, EOF included. bufio.Reader
// returns an error once; the reader may peek past a failure and must see it
// again when it gets there.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}
