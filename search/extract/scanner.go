package extract

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// scanBufSize is the line buffer: longer lines are handled in pieces, and
// a boundary line must fit (maxBoundaryLen is far below it).
const scanBufSize = 32 << 10

// maxBoundaryLen caps accepted boundaries (RFC 2046 allows 70 bytes).
const maxBoundaryLen = 1000

// scanner splits one byte stream into MIME entities without recursion.
// It keeps the boundaries of every open multipart on a stack and checks
// each line start against all of them, so a part whose closing boundary
// is missing is ended by an enclosing one, and nesting costs no stack.
//
// Between header blocks the scanner acts as an io.Reader over the current
// body: Read returns raw bytes until a boundary line or EOF and then
// records why it stopped in ev.
type scanner struct {
	br        *bufio.Reader
	off       int64 // bytes taken from br
	eof       bool
	lineStart bool // the next chunk starts a line
	pushed    []byte
	pushBuf   []byte
	bounds    []bound

	// body state, reset by beginPart
	done   bool
	ev     event
	held   [2]byte // line end held back: it belongs to a following boundary
	nheld  int
	eolBuf [2]byte
	eolOut []byte // held line end released as data
	rem    []byte // rest of the current chunk (points into br)
}

type bound struct {
	delim []byte // "--" + boundary
	frame int    // index of the multipart frame in the walker
}

type evKind int

const (
	evNone  evKind = iota
	evDelim        // "--boundary"
	evClose        // "--boundary--"
	evEOF
)

// event says how the current body ended. off is the stream offset where
// the body's data ended (before the held line end and the boundary line).
type event struct {
	kind  evKind
	frame int
	off   int64
}

// readerPool recycles line buffers: most messages are small, and a fresh
// 32 KiB buffer per message would dominate their cost.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, scanBufSize) }}

func newScanner(r io.Reader) *scanner {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(r)
	return &scanner{br: br, lineStart: true}
}

// release returns the buffer to the pool; s must not be used afterwards.
func (s *scanner) release() {
	s.br.Reset(nil)
	readerPool.Put(s.br)
	s.br, s.rem, s.pushed = nil, nil, nil
}

// next returns the next chunk: a whole line with its terminator, or a
// piece of a line longer than the buffer. start tells whether the chunk
// begins a line. ok is false at end of input.
func (s *scanner) next() (chunk []byte, start, ok bool) {
	start = s.lineStart
	if s.pushed != nil {
		chunk, s.pushed = s.pushed, nil
	} else {
		if s.eof {
			return nil, start, false
		}
		var err error
		chunk, err = s.br.ReadSlice('\n')
		s.off += int64(len(chunk))
		if err != nil && err != bufio.ErrBufferFull {
			s.eof = true // io.EOF or a read error; the caller checks the source
			if len(chunk) == 0 {
				return nil, start, false
			}
		}
	}
	s.lineStart = chunk[len(chunk)-1] == '\n'
	return chunk, start, true
}

// unread gives a line start back, to be returned by the next call to next.
func (s *scanner) unread(line []byte) {
	if s.pushBuf == nil {
		s.pushBuf = make([]byte, 0, scanBufSize)
	}
	s.pushed = append(s.pushBuf[:0], line...)
	s.lineStart = true
}

// pos is the offset of the next unread byte.
func (s *scanner) pos() int64 { return s.off - int64(len(s.pushed)) }

func (s *scanner) pushBound(boundary string, frame int) {
	s.bounds = append(s.bounds, bound{delim: []byte("--" + boundary), frame: frame})
}

// popBounds drops the boundaries of frames at index >= frame.
func (s *scanner) popBounds(frame int) {
	for len(s.bounds) > 0 && s.bounds[len(s.bounds)-1].frame >= frame {
		s.bounds = s.bounds[:len(s.bounds)-1]
	}
}

// match checks a line start against the open boundaries, innermost first.
func (s *scanner) match(line []byte) (frame int, close, ok bool) {
	if len(s.bounds) == 0 || len(line) < 2 || line[0] != '-' || line[1] != '-' {
		return 0, false, false
	}
	for i := len(s.bounds) - 1; i >= 0; i-- {
		d := s.bounds[i].delim
		if !bytes.HasPrefix(line, d) {
			continue
		}
		rest := line[len(d):]
		if len(rest) >= 2 && rest[0] == '-' && rest[1] == '-' {
			return s.bounds[i].frame, true, true
		}
		if len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n' {
			return s.bounds[i].frame, false, true
		}
	}
	return 0, false, false
}

// endAt records a boundary line just read and skips the rest of it.
func (s *scanner) endAt(line []byte, frame int, close bool) {
	k := evDelim
	if close {
		k = evClose
	}
	s.finish(event{kind: k, frame: frame, off: s.pos() - int64(len(line)) - int64(s.nheld)})
	s.nheld = 0
	for !s.lineStart {
		if _, _, ok := s.next(); !ok {
			break
		}
	}
}

func (s *scanner) finish(ev event) {
	s.done = true
	s.ev = ev
}

// beginPart resets the body state; header reading and Read follow.
func (s *scanner) beginPart() {
	s.done = false
	s.ev = event{}
	s.nheld = 0
	s.eolOut = nil
	s.rem = nil
}

// Read returns raw body bytes up to the next boundary line or EOF. The
// line end before a boundary belongs to the boundary (RFC 2046 §5.1.1)
// and is not returned.
func (s *scanner) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.eolOut) > 0 {
			c := copy(p[n:], s.eolOut)
			s.eolOut = s.eolOut[c:]
			n += c
			continue
		}
		if len(s.rem) > 0 {
			c := copy(p[n:], s.rem)
			s.rem = s.rem[c:]
			n += c
			continue
		}
		if s.done {
			break
		}
		line, start, ok := s.next()
		if !ok {
			// Without a boundary, the last line end is data.
			s.eolOut = s.releaseHeld()
			s.finish(event{kind: evEOF, off: s.pos()})
			continue
		}
		if start {
			if f, cl, m := s.match(line); m {
				s.endAt(line, f, cl)
				break
			}
		}
		if s.nheld == 1 && s.held[0] == '\r' && len(line) == 1 && line[0] == '\n' {
			// A CR LF split by the buffer edge: hold the whole line end.
			s.held[1], s.nheld = '\n', 2
			continue
		}
		s.eolOut = s.releaseHeld()
		s.rem = line
		if k := eolLen(line); k > 0 {
			s.rem = line[:len(line)-k]
			s.nheld = copy(s.held[:], line[len(line)-k:])
		} else if line[len(line)-1] == '\r' {
			s.rem = line[:len(line)-1] // may be the start of a line end
			s.held[0], s.nheld = '\r', 1
		}
	}
	if n == 0 && s.done {
		return 0, io.EOF
	}
	return n, nil
}

func (s *scanner) releaseHeld() []byte {
	k := copy(s.eolBuf[:], s.held[:s.nheld])
	s.nheld = 0
	return s.eolBuf[:k]
}

func eolLen(line []byte) int {
	n := len(line)
	switch {
	case n >= 2 && line[n-2] == '\r' && line[n-1] == '\n':
		return 2
	case n >= 1 && line[n-1] == '\n':
		return 1
	}
	return 0
}

// drainAll discards the rest of the input (after a limit was hit).
func (s *scanner) drainAll() {
	s.pushed = nil
	if !s.eof {
		n, _ := io.Copy(io.Discard, s.br)
		s.off += n
		s.eof = true
	}
	s.finish(event{kind: evEOF, off: s.off})
}
