package imap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// ErrStalled is the cause of a connection given up because the server sent
// nothing for Options.IdleTimeout while a response was due.
var ErrStalled = errors.New("server stalled")

// watchConn is the watchdog under every connection. While a response is
// due (expect was called and its release not yet), each read may wait at
// most timeout for the next bytes, however long the whole response takes,
// and each write that makes progress starts the wait afresh too;
// otherwise reads wait without limit, since an idle connection is silent.
// imapclient's own read deadlines are ignored: it sets none while it waits
// for a response to begin, so a server that went silent after an APPEND
// was waited for forever. Write deadlines pass through.
type watchConn struct {
	net.Conn
	timeout time.Duration

	mu  sync.Mutex
	due int // responses awaited
}

func (c *watchConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.due > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, fmt.Errorf("%w: nothing received for %v", ErrStalled, c.timeout)
	}
	return n, err
}

// Write counts as activity: while a literal goes up the server is silent,
// and a server that stops taking it makes the writes (and so the
// deadline) stop.
func (c *watchConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.mu.Lock()
		if c.due > 0 {
			c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *watchConn) SetReadDeadline(time.Time) error { return nil }

func (c *watchConn) SetDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(t) }

// expect arms the watchdog until release is called (once or more): a
// response is due. Calls nest. A read already waiting gets the deadline
// too.
func (c *watchConn) expect() (release func()) {
	c.mu.Lock()
	c.due++
	if c.due == 1 {
		c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.due--
			if c.due == 0 {
				c.Conn.SetReadDeadline(time.Time{})
			}
			c.mu.Unlock()
		})
	}
}

// expect arms the session's watchdog (see watchConn.expect).
func (s *session) expect() (release func()) { return s.watch.expect() }
