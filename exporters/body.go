package exporters

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mailark/mailark/archive"
)

// ErrDamaged reports an archived file whose bytes no longer hash to its ID
// (or whose size differs from the catalog's): it is not sent anywhere.
// 'mailark verify' says more.
var ErrDamaged = errors.New("archived file is damaged (run 'mailark verify')")

// Features are what a transport needs to know about a message's bytes
// before it sends them. All are measured on the CRLF form.
type Features struct {
	EightBitHeader bool  // a byte >= 0x80 in the header (needs SMTPUTF8)
	EightBitBody   bool  // a byte >= 0x80 in the body (needs 8BITMIME)
	NUL            bool  // a NUL byte anywhere (needs BINARYMIME)
	BareCR         bool  // a CR not followed by LF (not allowed in SMTP)
	LongestLine    int64 // octets of the longest line, CRLF excluded
	FinalNewline   bool  // the last line ends with CRLF (or the message is empty)
}

// Body is one archived message, read once, checked against its ID, and
// ready to be sent with CRLF line endings, the form IMAP and SMTP carry
// and the one the ID is computed over: every LF not preceded by CR becomes
// CRLF, nothing else changes. A message of up to MemLimit bytes is kept in
// memory; a larger one is read from its file again when opened.
type Body struct {
	Entry    *archive.SelectedEntry
	Size     int64 // CRLF bytes
	Features Features

	buf *bytes.Buffer // CRLF bytes, when small
}

// MemLimit is the largest message a Body keeps in memory.
const MemLimit = 256 << 10

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Load reads e's file, checks that it hashes to e.ID with e.CRLFSize
// bytes, and measures its Features. A mismatch is an error wrapping
// ErrDamaged. Call Release when done.
func Load(e *archive.SelectedEntry) (*Body, error) {
	f, err := os.Open(e.Path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", e.Path, err)
	}
	defer f.Close()
	b := &Body{Entry: e}
	h := archive.NewHasher()
	sc := &Scanner{}
	var sink io.Writer = h
	if e.CRLFSize <= MemLimit {
		b.buf = bufPool.Get().(*bytes.Buffer)
		b.buf.Reset()
		sink = io.MultiWriter(h, &crlfWriter{w: b.buf})
	}
	n, err := io.Copy(io.MultiWriter(sink, sc), bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		b.Release()
		return nil, fmt.Errorf("reading %s: %w", e.Path, err)
	}
	b.Features = sc.Features()
	b.Size = h.Size()
	if h.Sum() != e.ID || n != e.Size || b.Size != e.CRLFSize {
		b.Release()
		return nil, fmt.Errorf("%w: %s hashes to %s (%d bytes), the catalog says %s (%d bytes)", ErrDamaged, e.Path, h.Sum().Short(), n, e.ID.Short(), e.Size)
	}
	return b, nil
}

// Open returns the CRLF bytes. The caller must close the reader.
func (b *Body) Open() (io.ReadCloser, error) {
	if b.buf != nil {
		return io.NopCloser(bytes.NewReader(b.buf.Bytes())), nil
	}
	f, err := os.Open(b.Entry.Path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", b.Entry.Path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{NewCRLFReader(bufio.NewReaderSize(f, 64<<10)), f}, nil
}

// Release returns the memory of a small message to the pool.
func (b *Body) Release() {
	if b.buf != nil && b.buf.Cap() <= 2*MemLimit {
		bufPool.Put(b.buf)
	}
	b.buf = nil
}

// crlfWriter writes what it is given with every bare LF made CRLF.
type crlfWriter struct {
	w      io.Writer
	lastCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	start := 0
	for i, ch := range p {
		if ch != '\n' {
			continue
		}
		prevCR := c.lastCR
		if i > 0 {
			prevCR = p[i-1] == '\r'
		}
		if !prevCR {
			if _, err := c.w.Write(p[start:i]); err != nil {
				return 0, err
			}
			if _, err := c.w.Write([]byte("\r\n")); err != nil {
				return 0, err
			}
			start = i + 1
		}
	}
	if _, err := c.w.Write(p[start:]); err != nil {
		return 0, err
	}
	if len(p) > 0 {
		c.lastCR = p[len(p)-1] == '\r'
	}
	return len(p), nil
}

// crlfReader turns every bare LF of r into CRLF.
type crlfReader struct {
	r       io.Reader
	lastCR  bool
	pending bool // an LF is owed after an inserted CR
	buf     []byte
}

// NewCRLFReader returns a reader of r's bytes with every LF that is not
// preceded by CR turned into CRLF: the bytes a message's ID and CRLF size
// are computed over.
func NewCRLFReader(r io.Reader) io.Reader { return &crlfReader{r: r} }

func (c *crlfReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	if c.pending {
		p[0] = '\n'
		c.pending, c.lastCR = false, false
		n = 1
	}
	if n == len(p) {
		return n, nil
	}
	// Read at most half of the room left, so that every LF can grow.
	want := max((len(p)-n)/2, 1)
	if cap(c.buf) < want {
		c.buf = make([]byte, want)
	}
	m, err := c.r.Read(c.buf[:want])
	for _, ch := range c.buf[:m] {
		if ch == '\n' && !c.lastCR {
			p[n] = '\r'
			n++
			if n == len(p) {
				c.pending = true
				return n, nil
			}
		}
		p[n] = ch
		n++
		c.lastCR = ch == '\r'
	}
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// Scanner measures Features over a message's bytes as they are written to
// it, in any pieces; line ends are judged as in the CRLF form.
type Scanner struct {
	inBody    bool
	lineLen   int64 // bytes of the current line so far, CR excluded
	lineEmpty bool  // current line has had no byte but a possible CR
	pendingCR bool  // the last byte was a CR
	started   bool
	f         Features
}

// Write implements io.Writer.
func (s *Scanner) Write(p []byte) (int, error) {
	for _, ch := range p {
		if !s.started {
			s.started, s.lineEmpty = true, true
		}
		if s.pendingCR {
			s.pendingCR = false
			if ch != '\n' {
				s.f.BareCR = true
				s.lineLen++ // the bare CR is a byte of the line
				s.lineEmpty = false
			}
		}
		switch ch {
		case '\r':
			s.pendingCR = true
			continue
		case '\n':
			s.endLine()
			continue
		case 0:
			s.f.NUL = true
		}
		if ch >= 0x80 {
			if s.inBody {
				s.f.EightBitBody = true
			} else {
				s.f.EightBitHeader = true
			}
		}
		s.lineLen++
		s.lineEmpty = false
	}
	return len(p), nil
}

func (s *Scanner) endLine() {
	s.f.LongestLine = max(s.f.LongestLine, s.lineLen)
	if s.lineEmpty && !s.inBody {
		s.inBody = true
	}
	s.lineLen, s.lineEmpty = 0, true
}

// Features returns what was measured; call it after the last Write.
func (s *Scanner) Features() Features {
	f := s.f
	if s.pendingCR {
		f.BareCR = true
	}
	last := s.lineLen
	if s.pendingCR {
		last++
	}
	f.LongestLine = max(f.LongestLine, last)
	f.FinalNewline = !s.started || (s.lineEmpty && !s.pendingCR)
	return f
}
