package pop3

import (
	"bufio"
	"bytes"
	"io"
)

// Multi-line responses (RFC 1939 §3): after the +OK line, lines end in CRLF,
// and the response ends with a line holding a single "." (the termination
// octet). A line of the content that starts with "." is sent with one more
// "." in front ("byte-stuffed"); the client strips it: "If so and if octets
// other than CRLF follow, the first octet of the line (the termination
// octet) is stripped away. If so and if CRLF immediately follows the
// termination character, then the response from the POP server is ended
// and the line containing ".CRLF" is not considered part of the multi-line
// response."
//
// Two readers implement that rule: dotReader streams a message body (RETR,
// TOP) byte for byte, keeping every line end as sent (CRLF stays CRLF; a
// bare LF or CR from a sloppy server stays as it is) and handling lines of
// any length; readListing reads the short lines of CAPA, LIST and UIDL.
// Both accept ".\n" as well as ".\r\n" as the end, and neither reads a
// byte past it: what follows (the answer to a pipelined command) stays in
// the bufio.Reader.

var nlDot = []byte("\n.")

// dotReader is the body of one multi-line response.
type dotReader struct {
	br        *bufio.Reader
	lineStart bool  // the next byte starts a line
	done      bool  // the terminating line has been consumed
	err       error // sticky read error
	onEnd     func(error)
}

func newDotReader(br *bufio.Reader, onEnd func(error)) *dotReader {
	return &dotReader{br: br, lineStart: true, onEnd: onEnd}
}

// Read returns unstuffed body bytes, and io.EOF once the terminating line
// has been read. A stream that ends before it gives io.ErrUnexpectedEOF:
// the caller must treat what it got as incomplete.
func (d *dotReader) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	if d.err != nil {
		return 0, d.err
	}
	n := 0
	for n < len(p) {
		if d.lineStart {
			// Only block for more input when nothing has been read yet:
			// a Read returns what it has rather than wait.
			if n > 0 && d.br.Buffered() < 3 {
				break
			}
			end, err := d.lineHead()
			if err != nil {
				return n, d.fail(err)
			}
			if end {
				d.finish(nil)
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
		}
		if d.br.Buffered() == 0 {
			if n > 0 {
				break
			}
			if _, err := d.br.Peek(1); err != nil {
				return n, d.fail(err)
			}
		}
		// Everything up to the next line that starts with a dot passes
		// unchanged; only such a line needs a look.
		buf, _ := d.br.Peek(d.br.Buffered())
		if i := bytes.Index(buf, nlDot); i >= 0 {
			buf = buf[:i+1]
		}
		k := copy(p[n:], buf)
		d.br.Discard(k)
		n += k
		d.lineStart = p[n-1] == '\n'
	}
	return n, nil
}

// lineHead looks at the start of a line: it consumes the terminating line
// and reports true, or strips a stuffed dot.
func (d *dotReader) lineHead() (end bool, err error) {
	b, err := d.br.Peek(2)
	if len(b) == 0 {
		return false, err
	}
	if b[0] != '.' {
		return false, nil
	}
	if len(b) < 2 {
		return false, err // a lone "." and then the stream ended
	}
	switch b[1] {
	case '\n':
		d.br.Discard(2)
		return true, nil
	case '\r':
		b, err = d.br.Peek(3)
		if len(b) < 3 {
			return false, err
		}
		if b[2] == '\n' {
			d.br.Discard(3)
			return true, nil
		}
	}
	d.br.Discard(1) // the stuffed dot
	d.lineStart = false
	return false, nil
}

func (d *dotReader) fail(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	d.err = err
	d.finish(err)
	return err
}

func (d *dotReader) finish(err error) {
	if err == nil {
		d.done = true
	}
	if d.onEnd != nil {
		f := d.onEnd
		d.onEnd = nil
		f(err)
	}
}

// drain reads the rest of the response, so that the session can go on.
func (d *dotReader) drain() error {
	var buf [4096]byte
	for !d.done && d.err == nil {
		if _, err := d.Read(buf[:]); err != nil && err != io.EOF {
			return err
		}
	}
	return d.err
}

// readListing reads the lines of a multi-line response whose lines are
// short (CAPA, LIST, UIDL) and calls fn with each, unstuffed and without
// its line end; the slice is valid only during the call. It returns nil
// once the terminating line is read, and an error when the response could
// not be read to its end.
func readListing(br *bufio.Reader, fn func(line []byte)) error {
	for {
		line, err := readLine(br, maxResponseLine)
		if err != nil {
			return err
		}
		if len(line) > 0 && line[0] == '.' {
			if len(line) == 1 {
				return nil
			}
			line = line[1:]
		}
		fn(line)
	}
}
