package pop3

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Capabilities are what CAPA listed (RFC 2449 §5): capability names in
// upper case, each with its arguments ("SASL" → ["PLAIN", "LOGIN"]). A
// server without CAPA (RFC 1939 only) has none; USER, TOP and UIDL may
// still work there.
type Capabilities map[string][]string

// Has reports whether the capability name was listed.
func (c Capabilities) Has(name string) bool {
	_, ok := c[strings.ToUpper(name)]
	return ok
}

// SASL reports whether the SASL capability lists mechanism mech.
func (c Capabilities) SASL(mech string) bool {
	return slices.ContainsFunc(c["SASL"], func(m string) bool { return strings.EqualFold(m, mech) })
}

// Capabilities returns what the server announced, after STLS if used.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Capa asks the server for its capabilities again (RFC 2449 §5); they
// change after login (RFC 2449 §6.0: "the capabilities... may differ").
func (c *Client) Capa(ctx context.Context) (Capabilities, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	defer c.watch(ctx)()
	if err := c.capa(); err != nil {
		return nil, err
	}
	return c.caps, nil
}

func (c *Client) capa() error {
	_, err := c.cmd("CAPA", "CAPA")
	var e *Error
	if errors.As(err, &e) {
		// An RFC 1939 server does not know CAPA: no capabilities, and
		// the session goes on.
		c.caps = Capabilities{}
		return nil
	}
	if err != nil {
		return err
	}
	caps := Capabilities{}
	err = c.listing("CAPA", func(line []byte) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			return
		}
		caps[strings.ToUpper(f[0])] = f[1:]
	})
	if err != nil {
		return err
	}
	c.caps = caps
	return nil
}

// pipelining reports whether several commands may be sent before their
// answers are read (RFC 2449 §6.6), and how many.
func (c *Client) window() int {
	if c.caps.Has("PIPELINING") {
		return c.opts.Window
	}
	return 1
}
