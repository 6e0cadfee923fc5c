package pop3

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MessageInfo is one message of the maildrop as LIST and UIDL give it.
// Num is valid in this session only; UID (RFC 1939 §7, "unique-id
// listing") is what names the message across sessions.
type MessageInfo struct {
	Num  int
	Size int64  // octets as the server will send them (RFC 1939: CRLF line ends)
	UID  string // "" when the server has no UIDL or did not list this message
}

// Stat returns the number of messages and their total size (RFC 1939 §5).
func (c *Client) Stat(ctx context.Context) (count int, size int64, err error) {
	defer c.watch(ctx)()
	text, err := c.cmd("STAT", "STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(text)
	if len(f) < 2 {
		return 0, 0, c.fatal(protocolError("STAT", []byte(text), "want \"+OK count size\""))
	}
	n, err1 := strconv.Atoi(f[0])
	s, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || n < 0 || s < 0 {
		return 0, 0, c.fatal(protocolError("STAT", []byte(text), "want \"+OK count size\""))
	}
	return n, s, nil
}

// List returns the number and size of every message (RFC 1939 §5, LIST
// without an argument), in the order the server lists them.
func (c *Client) List(ctx context.Context) ([]MessageInfo, error) {
	defer c.watch(ctx)()
	if _, err := c.cmd("LIST", "LIST"); err != nil {
		return nil, err
	}
	var out []MessageInfo
	var bad error
	err := c.listing("LIST", func(line []byte) {
		f := strings.Fields(string(line))
		var n int
		var size int64
		var err1, err2 error
		if len(f) >= 2 {
			n, err1 = strconv.Atoi(f[0])
			size, err2 = strconv.ParseInt(f[1], 10, 64)
		}
		if len(f) < 2 || err1 != nil || err2 != nil || n <= 0 || size < 0 {
			if bad == nil {
				bad = protocolError("LIST", line, "want \"msg size\"")
			}
			return
		}
		out = append(out, MessageInfo{Num: n, Size: size})
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}

// ErrNoUIDL is returned by UIDL for a server without the command.
var ErrNoUIDL = errors.New("server does not support UIDL")

// UIDL returns the unique-id of every message (RFC 1939 §7), by number.
// A server without UIDL gives ErrNoUIDL (wrapping its *Error); the
// session goes on.
func (c *Client) UIDL(ctx context.Context) (map[int]string, error) {
	defer c.watch(ctx)()
	if _, err := c.cmd("UIDL", "UIDL"); err != nil {
		var e *Error
		if errors.As(err, &e) && !e.Temporary() {
			return nil, fmt.Errorf("%w: %w", ErrNoUIDL, err)
		}
		return nil, err
	}
	out := map[int]string{}
	var bad error
	err := c.listing("UIDL", func(line []byte) {
		// "msg unique-id"; be liberal about what unique-id holds (RFC 1939
		// says 0x21-0x7E, 1-70 octets), but it must be there.
		f := strings.Fields(string(line))
		var n int
		var err error
		if len(f) >= 2 {
			n, err = strconv.Atoi(f[0])
		}
		if len(f) < 2 || err != nil || n <= 0 {
			if bad == nil {
				bad = protocolError("UIDL", line, "want \"msg unique-id\"")
			}
			return
		}
		out[n] = f[1]
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}

// Messages combines LIST and UIDL. hasUIDL is false when the server has
// no UIDL; then every UID is "". A LIST or UIDL line that cannot be
// understood is left out and reported as a *ProtocolError together with
// the rest of the listing, which is still good (Err is nil then).
func (c *Client) Messages(ctx context.Context) (msgs []MessageInfo, hasUIDL bool, err error) {
	msgs, lerr := c.List(ctx)
	if lerr != nil && !c.partial(lerr) {
		return nil, false, lerr
	}
	uids, uerr := c.UIDL(ctx)
	if errors.Is(uerr, ErrNoUIDL) {
		return msgs, false, lerr
	}
	if uerr != nil && !c.partial(uerr) {
		return nil, false, uerr
	}
	for i := range msgs {
		msgs[i].UID = uids[msgs[i].Num]
	}
	return msgs, true, errors.Join(lerr, uerr)
}

// partial reports whether err left a usable listing: a bad line, read to
// the end of the response.
func (c *Client) partial(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe) && c.err == nil
}
