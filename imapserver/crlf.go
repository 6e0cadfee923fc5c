package imapserver

import (
	"bufio"
	"errors"
	"io"
	"os"
)

// Message files keep the bytes as received, which may end lines with a
// bare LF; IMAP sends CRLF, and RFC822.SIZE is counted that way (the
// catalog's crlf_size). Every offset and size in this package is in that
// normalised form.

// crlfReader turns every LF not preceded by CR into CRLF, the same rule
// the archive hashes with.
type crlfReader struct {
	r       *bufio.Reader
	prevCR  bool
	pending bool // a CR is owed before the next byte (an LF)
}

func newCRLFReader(r io.Reader) *crlfReader {
	return &crlfReader{r: bufio.NewReaderSize(r, 32<<10)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.pending {
			p[n] = '\n'
			n++
			c.pending = false
			c.prevCR = false
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 && err == io.EOF {
				return n, nil
			}
			return n, err
		}
		if b == '\n' && !c.prevCR {
			p[n] = '\r'
			n++
			c.pending = true
			continue
		}
		p[n] = b
		n++
		c.prevCR = b == '\r'
		// Copy a run of bytes that need no change in one go.
		if buffered := c.r.Buffered(); buffered > 0 && n < len(p) {
			peek, _ := c.r.Peek(min(buffered, len(p)-n))
			k := 0
			for k < len(peek) && peek[k] != '\n' {
				k++
			}
			if k > 0 {
				copy(p[n:], peek[:k])
				c.r.Discard(k)
				n += k
				c.prevCR = peek[k-1] == '\r'
			}
		}
	}
	return n, nil
}

// errShortFile reports a message file that no longer matches the catalog.
var errShortFile = errors.New("message file is shorter than the catalog says")

// openRange returns a reader of bytes [start, end) of the normalised form
// of the file at path, whose size on disk is fileSize and normalised size
// crlfSize. Files without bare LF are read with a seek.
func openRange(path string, fileSize, crlfSize, start, end int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != fileSize {
		f.Close()
		return nil, errShortFile
	}
	if fileSize == crlfSize {
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return readCloser{io.LimitReader(f, end-start), f}, nil
	}
	cr := newCRLFReader(f)
	if _, err := io.CopyN(io.Discard, cr, start); err != nil {
		f.Close()
		return nil, errShortFile
	}
	return readCloser{io.LimitReader(cr, end-start), f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
