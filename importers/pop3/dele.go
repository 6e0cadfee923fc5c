package pop3

import (
	"context"
	"errors"
	"strconv"
)

// Dele marks message n as deleted (RFC 1939 §5). Nothing is removed until
// Quit succeeds: a session that ends any other way deletes nothing, and
// Rset unmarks every message.
func (c *Client) Dele(ctx context.Context, n int) error {
	defer c.watch(ctx)()
	cmd := "DELE " + strconv.Itoa(n)
	_, err := c.cmd(cmd, cmd)
	return err
}

// DeleEach marks every message of nums as deleted, pipelined like
// RetrEach. A message the server refuses to mark (-ERR) is in refused with
// its *Error, and the others go on; err is a failure of the session.
func (c *Client) DeleEach(ctx context.Context, nums []int) (refused map[int]error, err error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	defer c.watch(ctx)()
	window := c.window()
	sent := 0
	for i, n := range nums {
		for sent < len(nums) && sent < i+window {
			cmd := "DELE " + strconv.Itoa(nums[sent])
			c.send(cmd, cmd)
			sent++
		}
		if err := c.flush(); err != nil {
			return refused, err
		}
		_, err := c.status("DELE " + strconv.Itoa(n))
		var e *Error
		if errors.As(err, &e) {
			if refused == nil {
				refused = map[int]error{}
			}
			refused[n] = err
			continue
		}
		if err != nil {
			return refused, err
		}
	}
	return refused, nil
}

// Rset unmarks all messages marked as deleted (RFC 1939 §5).
func (c *Client) Rset(ctx context.Context) error {
	defer c.watch(ctx)()
	_, err := c.cmd("RSET", "RSET")
	return err
}

// Noop does nothing but keep the session alive (RFC 1939 §5).
func (c *Client) Noop(ctx context.Context) error {
	defer c.watch(ctx)()
	_, err := c.cmd("NOOP", "NOOP")
	return err
}

// Quit ends the session (RFC 1939 §6): the server enters the UPDATE state
// and removes the messages marked as deleted. A -ERR here (an *Error)
// means some of them could not be removed. The connection is closed in
// any case.
func (c *Client) Quit(ctx context.Context) error {
	defer c.watch(ctx)()
	_, err := c.cmd("QUIT", "QUIT")
	c.conn.Close()
	if c.err == nil {
		c.err = errQuit
	}
	return err
}

var errQuit = errors.New("session ended with QUIT")
