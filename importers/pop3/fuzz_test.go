package pop3

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// memConn is a net.Conn that reads a fixed input and discards writes: the
// fuzz target runs the client without a network.
type memConn struct {
	r *bytes.Reader
}

func (m *memConn) Read(p []byte) (int, error)         { return m.r.Read(p) }
func (m *memConn) Write(p []byte) (int, error)        { return len(p), nil }
func (m *memConn) Close() error                       { return nil }
func (m *memConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error        { return nil }
func (m *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(t time.Time) error { return nil }

// refBody is the reference reading of a multi-line body (RFC 1939 §3),
// written as plainly as possible: split into lines at LF, a line "." (with
// CRLF or LF) ends it, a leading "." is stripped from any other line. ok is
// false when the input ends before the terminating line.
func refBody(in []byte) (body, rest []byte, ok bool) {
	for len(in) > 0 {
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			return nil, nil, false
		}
		line := in[:i+1]
		in = in[i+1:]
		if line[0] == '.' {
			if string(line) == ".\r\n" || string(line) == ".\n" {
				return body, in, true
			}
			line = line[1:]
		}
		body = append(body, line...)
	}
	return nil, nil, false
}

// refListing is the reference reading of a CAPA/LIST/UIDL listing.
func refListing(in []byte) (lines []string, rest []byte, ok bool) {
	for len(in) > 0 {
		i := bytes.IndexByte(in, '\n')
		if i < 0 || i+1 > maxResponseLine {
			return nil, nil, false
		}
		line := bytes.TrimSuffix(in[:i], []byte("\r"))
		in = in[i+1:]
		if len(line) > 0 && line[0] == '.' {
			if len(line) == 1 {
				return lines, in, true
			}
			line = line[1:]
		}
		lines = append(lines, string(line))
	}
	return nil, nil, false
}

// unread is what the client has not consumed: its buffer plus the rest of
// the connection.
func unread(c *Client, mc *memConn) []byte {
	b, _ := c.br.Peek(c.br.Buffered())
	rest, _ := io.ReadAll(mc.r)
	return append(append([]byte(nil), b...), rest...)
}

func fuzzClient(t *testing.T, data []byte) (*Client, *memConn) {
	mc := &memConn{r: bytes.NewReader([]byte("+OK hi\r\n-ERR no CAPA\r\n"))}
	c, err := NewClient(context.Background(), mc, Options{Security: Plain})
	if err != nil {
		t.Fatalf("greeting: %v", err)
	}
	// The fuzz input follows, read through a buffer of bufio's minimum
	// size, so that lines and terminators straddle refills.
	mc.r = bytes.NewReader(data)
	c.br = bufio.NewReaderSize(mc, 16)
	return c, mc
}

// FuzzResponse feeds arbitrary server output to the response parsers: the
// status line, a RETR body, and a LIST listing. None may panic; each must
// agree with the reference reading; none may consume a byte past the
// terminating line (it belongs to the next pipelined answer).
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n.\r\n",
		"+OK 12 octets\r\nSubject: x\r\n\r\nbody\r\n.\r\n+OK next\r\n",
		"+OK\r\n..\r\n...\r\n..x\r\n.x\r\n.\r\nRETR",
		"+OK\r\nbare\nlf\n.\n-ERR after\r\n",
		"+OK\r\n.\rx\r\n.\r\r\n.\r\n",
		"-ERR [IN-USE] locked\r\n",
		"-ERR [SYS/TEMP\r\n",
		"+OKAY\r\n",
		"+OK\r\nno terminator\r\n",
		"+OK\r\n1 120\r\n2 200\r\n.\r\n",
		"+OK\r\n.",
		"+OK\r\n\n.\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hasLine := bytes.IndexByte(data, '\n') >= 0
		statusLen := bytes.IndexByte(data, '\n') + 1

		// RETR: the body.
		c, mc := fuzzClient(t, data)
		body, err := c.Retr(context.Background(), 1)
		if err != nil {
			var e *Error
			var pe *ProtocolError
			if !errors.As(err, &e) && !errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("RETR status: unexpected error type %T: %v", err, err)
			}
			if errors.As(err, &e) && c.Err() != nil {
				t.Fatalf("-ERR killed the session: %v", c.Err())
			}
			if errors.As(err, &e) {
				if got := unread(c, mc); !bytes.Equal(got, data[statusLen:]) {
					t.Fatalf("-ERR: consumed past the status line: rest %q", got)
				}
			}
			return
		}
		if !hasLine {
			t.Fatalf("+OK without a line end accepted")
		}
		got, rerr := io.ReadAll(body)
		want, rest, ok := refBody(data[statusLen:])
		if ok != (rerr == nil) {
			t.Fatalf("body: read error %v, reference complete %v", rerr, ok)
		}
		if ok {
			if !bytes.Equal(got, want) {
				t.Fatalf("body:\n got %q\nwant %q", got, want)
			}
			if left := unread(c, mc); !bytes.Equal(left, rest) {
				t.Fatalf("read past the terminator: left %q, want %q", left, rest)
			}
			if c.Err() != nil {
				t.Fatalf("session dead after a complete body: %v", c.Err())
			}
		} else if c.Err() == nil {
			t.Fatal("session alive after a truncated body")
		}

		// LIST: the same bytes as a listing.
		c, mc = fuzzClient(t, data)
		if _, err := c.cmd("LIST", "LIST"); err != nil {
			return
		}
		var lines []string
		lerr := c.listing("LIST", func(line []byte) { lines = append(lines, string(line)) })
		wantLines, rest, ok := refListing(data[statusLen:])
		if ok != (lerr == nil) {
			t.Fatalf("listing: error %v, reference complete %v", lerr, ok)
		}
		if ok {
			if len(lines) != len(wantLines) {
				t.Fatalf("listing: %q, want %q", lines, wantLines)
			}
			for i := range lines {
				if lines[i] != wantLines[i] {
					t.Fatalf("listing line %d: %q, want %q", i, lines[i], wantLines[i])
				}
			}
			if left := unread(c, mc); !bytes.Equal(left, rest) {
				t.Fatalf("listing read past the terminator: left %q, want %q", left, rest)
			}
		}
	})
}
