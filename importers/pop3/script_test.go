package pop3

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A script is a POP3 dialogue seen from the server: "C: line" is a line
// the client must send (without CRLF), "S: data" is sent as it is (line
// ends written out), "CLOSE" closes the connection, "STALL" stops
// answering until the client goes away.
type script []string

// scriptServer runs s on a loopback connection and returns its address;
// a mismatch fails the test. done is closed when the script has ended.
func scriptServer(t *testing.T, s script) (addr string, done <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	t.Cleanup(func() { ln.Close() })
	go func() {
		defer close(ch)
		conn, err := ln.Accept()
		if err != nil {
			t.Errorf("script: accept: %v", err)
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		for i, step := range s {
			switch {
			case strings.HasPrefix(step, "C: "):
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				line, err := br.ReadString('\n')
				if err != nil {
					t.Errorf("script step %d: want client line %q, got error %v", i, step[3:], err)
					return
				}
				if got := strings.TrimSuffix(line, "\r\n"); got != step[3:] {
					t.Errorf("script step %d: client sent %q, want %q", i, got, step[3:])
					return
				}
			case strings.HasPrefix(step, "S: "):
				if _, err := io.WriteString(conn, step[3:]); err != nil {
					t.Errorf("script step %d: writing: %v", i, err)
					return
				}
			case step == "CLOSE":
				return
			case step == "STALL":
				conn.SetReadDeadline(time.Time{})
				io.Copy(io.Discard, br)
				return
			default:
				t.Errorf("script step %d: bad step %q", i, step)
				return
			}
		}
	}()
	return ln.Addr().String(), ch
}

// greet is the start of most scripts: greeting and CAPA, no TLS.
var greet = script{
	"S: +OK POP3 server ready\r\n",
	"C: CAPA",
	"S: +OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n.\r\n",
}

func join(parts ...script) script {
	var out script
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// dialScript runs s and connects a plain client to it.
func dialScript(t *testing.T, s script, opts Options) (*Client, <-chan struct{}) {
	t.Helper()
	addr, done := scriptServer(t, s)
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Security == STARTTLS {
		opts.Security = Plain
	}
	c, err := Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, done
}

func wait(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("script did not finish")
	}
}
