package pop3

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// Retr starts retrieving message n (RFC 1939 §5) and returns its body: the
// message exactly as the server sends it, dot-unstuffed, every line end
// kept as sent, lines of any length. The body ends (io.EOF) after the
// terminating line has been read; a connection that breaks before gives
// io.ErrUnexpectedEOF or the network error, so a partial message is never
// mistaken for a whole one. Close reads what is left, keeping the session
// in step; the next command does the same for a body not closed. ctx
// bounds the whole retrieval, reading the body included.
func (c *Client) Retr(ctx context.Context, n int) (io.ReadCloser, error) {
	return c.multiLine(ctx, "RETR "+strconv.Itoa(n))
}

// Top returns the header of message n and the first lines of its body
// (RFC 1939 §7, optional), as Retr does.
func (c *Client) Top(ctx context.Context, n, lines int) (io.ReadCloser, error) {
	return c.multiLine(ctx, "TOP "+strconv.Itoa(n)+" "+strconv.Itoa(lines))
}

func (c *Client) multiLine(ctx context.Context, cmd string) (io.ReadCloser, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	stop := c.watch(ctx)
	c.send(cmd, cmd)
	if err := c.flush(); err != nil {
		stop()
		return nil, err
	}
	return c.openBody(cmd, stop)
}

// openBody reads the status line of a RETR or TOP and, after +OK, returns
// the body reader; stop ends the context watch when the body is done.
func (c *Client) openBody(cmd string, stop func()) (io.ReadCloser, error) {
	if _, err := c.status(cmd); err != nil {
		stop()
		return nil, err
	}
	b := &body{c: c}
	b.d = newDotReader(c.br, func(err error) {
		stop()
		if c.body == b.d {
			c.body = nil
		}
		if err != nil {
			c.fatal(c.dc.wrap(fmt.Errorf("reading %s: %w", cmd, err)))
		}
	})
	c.body = b.d
	return b, nil
}

// closeBody drains the open body.
func (c *Client) closeBody() error {
	d := c.body
	if err := d.drain(); err != nil {
		return c.err
	}
	return nil
}

// body is the io.ReadCloser Retr and Top return.
type body struct {
	c *Client
	d *dotReader
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.d.Read(p)
	if err != nil && err != io.EOF {
		// The session is dead; say why, with the command.
		if b.c.err != nil {
			return n, b.c.err
		}
	}
	return n, err
}

// Close drains the rest of the message. It returns nil when the session
// can go on.
func (b *body) Close() error {
	if b.d.done {
		return nil
	}
	if err := b.d.drain(); err != nil {
		return b.c.err
	}
	return nil
}

// RetrEach retrieves the messages nums in order and calls fn with each
// one's number and body; a message the server refuses (-ERR) is passed as
// a nil body and its *Error, and the others go on. When CAPA lists
// PIPELINING (RFC 2449 §6.6), up to Options.Window RETR commands are sent
// ahead, so that the server never waits for a round trip. fn need not read
// the body to its end. An error from fn stops RetrEach; if commands were
// still in flight the session cannot go on (Err reports it).
func (c *Client) RetrEach(ctx context.Context, nums []int, fn func(n int, body io.Reader, err error) error) error {
	if err := c.ready(); err != nil {
		return err
	}
	defer c.watch(ctx)()
	window := c.window()
	sent := 0
	for i, n := range nums {
		// Answers already buffered are read without touching the
		// connection, so the cancellation must be checked here too.
		if err := ctx.Err(); err != nil {
			return c.abandon(err, sent > i)
		}
		// Keep the pipe full: commands for messages up to i+window-1.
		for sent < len(nums) && sent < i+window {
			cmd := "RETR " + strconv.Itoa(nums[sent])
			c.send(cmd, cmd)
			sent++
		}
		if err := c.flush(); err != nil {
			return err
		}
		cmd := "RETR " + strconv.Itoa(n)
		rc, err := c.openBody(cmd, func() {})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				return err
			}
			if ferr := fn(n, nil, err); ferr != nil {
				return c.abandon(ferr, sent > i+1)
			}
			continue
		}
		ferr := fn(n, rc, nil)
		if ferr != nil {
			if c.err == nil && c.body != nil {
				// fn failed mid-body: the rest is not worth reading.
				return c.abandon(ferr, true)
			}
			return c.abandon(ferr, sent > i+1)
		}
		if err := rc.Close(); err != nil {
			return err
		}
	}
	return nil
}

// abandon kills the session when answers are still due, so that it cannot
// be used out of step.
func (c *Client) abandon(err error, inFlight bool) error {
	if inFlight {
		c.fatal(fmt.Errorf("session abandoned with commands in flight: %w", err))
	}
	return err
}
