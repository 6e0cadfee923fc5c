package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Security is how a connection is protected.
type Security int

const (
	// STARTTLS connects in the clear and upgrades with STLS (RFC 2595 §4)
	// before anything else is sent; a server that does not offer STLS is
	// refused. The usual mode on port 110.
	STARTTLS Security = iota
	// ImplicitTLS speaks TLS from the first byte (port 995, RFC 8314).
	ImplicitTLS
	// Plain uses no encryption at all: passwords cross the network in the
	// clear unless APOP is used. Only on explicit request.
	Plain
)

func (s Security) String() string {
	switch s {
	case STARTTLS:
		return "starttls"
	case ImplicitTLS:
		return "tls"
	case Plain:
		return "none"
	}
	return fmt.Sprintf("security(%d)", int(s))
}

// Options configure Dial and NewClient. The zero value is usable: STLS,
// certificates verified against the system roots, 60 s timeouts.
type Options struct {
	Security Security
	// TLSConfig is used for STLS and implicit TLS; nil means the system
	// roots and ServerName from the address. It is cloned, not modified.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each single read or write: a server
	// that sends nothing for this long is given up on, however long the
	// whole message takes. 0 means 60 s.
	Timeout time.Duration
	// Window is how many RETR or DELE commands RetrEach and DeleEach keep
	// in flight when the server announces PIPELINING (RFC 2449 §6.6).
	// 0 means 32; 1 turns pipelining off.
	Window int
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Trace, when set, receives the dialogue line by line ("C: ", "S: "),
	// credentials replaced by "***", message bodies left out.
	Trace io.Writer
}

const defaultTimeout = 60 * time.Second

// Client is one POP3 session (RFC 1939). A Client is not safe for
// concurrent use. Every method takes a context: when it is cancelled, the
// pending I/O stops at once and the session is dead (Err reports why); a
// session that ends without QUIT deletes nothing (RFC 1939 §6).
type Client struct {
	dc        *deadlineConn
	conn      net.Conn // dc, or a tls.Conn over it
	br        *bufio.Reader
	bw        *bufio.Writer
	opts      Options
	log       *slog.Logger
	greeting  string
	timestamp string // the APOP timestamp of the greeting, "" if none
	caps      Capabilities
	isTLS     bool
	err       error      // sticky: the session is unusable
	body      *dotReader // an open RETR/TOP body
}

// Dial connects to addr ("host:port"), secures the connection as
// opts.Security says, reads the greeting and asks for the capabilities.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	// The certificate is checked against the host dialled unless the
	// configuration names another.
	host, _, _ := net.SplitHostPort(addr)
	if opts.TLSConfig == nil {
		opts.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	} else if opts.TLSConfig.ServerName == "" {
		opts.TLSConfig = opts.TLSConfig.Clone()
		opts.TLSConfig.ServerName = host
	}
	c, err := NewClient(ctx, conn, opts)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	return c, nil
}

// NewClient runs a session over conn, which is connected to a server that
// has not yet sent its greeting: it sets up TLS as opts.Security says,
// reads the greeting and asks for the capabilities (after STLS, again, as
// RFC 2595 §4 requires). On error the caller closes conn.
func NewClient(ctx context.Context, conn net.Conn, opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Window <= 0 {
		opts.Window = 32
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{dc: &deadlineConn{Conn: conn, idle: opts.Timeout}, opts: opts, log: log}
	c.conn = c.dc
	if opts.Security == ImplicitTLS {
		if err := c.handshake(ctx); err != nil {
			return nil, err
		}
	}
	c.br = bufio.NewReaderSize(c.conn, 64<<10)
	c.bw = bufio.NewWriterSize(c.conn, 4<<10)
	defer c.watch(ctx)()
	line, err := c.readLine("greeting")
	if err != nil {
		return nil, c.fatal(fmt.Errorf("reading greeting: %w", err))
	}
	text, err := parseStatus("greeting", line)
	if err != nil {
		// RFC 2449 §8.1.2: a server may refuse a session with -ERR [IN-USE]
		// or [SYS/TEMP] right in the greeting.
		return nil, err
	}
	c.greeting = text
	c.timestamp = apopTimestamp(text)
	if err := c.capa(); err != nil {
		return nil, err
	}
	if opts.Security == STARTTLS {
		if err := c.startTLS(ctx); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) handshake(ctx context.Context) error {
	cfg := c.opts.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tc := tls.Client(c.dc, cfg.Clone())
	hctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	c.conn, c.isTLS = tc, true
	return nil
}

// startTLS upgrades the connection (RFC 2595 §4).
func (c *Client) startTLS(ctx context.Context) error {
	if !c.caps.Has("STLS") {
		return errors.New("server does not offer STLS; use --tls tls (port 995), or --tls none to send the password in the clear")
	}
	stop := c.watch(ctx)
	_, err := c.cmd("STLS", "STLS")
	stop()
	if err != nil {
		return err
	}
	// Anything the server sent after +OK came before the handshake: an
	// attacker may have injected it (the STARTTLS "command injection"
	// flaw, CVE-2011-0411 and kin). Refuse rather than read it as if it
	// had been protected.
	if c.br.Buffered() > 0 {
		return c.fatal(protocolError("STLS", nil, "data after +OK before the TLS handshake"))
	}
	if err := c.handshake(ctx); err != nil {
		return c.fatal(err)
	}
	c.br.Reset(c.conn)
	c.bw.Reset(c.conn)
	// RFC 2595 §4: capabilities learnt before TLS are forgotten.
	stop = c.watch(ctx)
	defer stop()
	return c.capa()
}

// Greeting returns the text of the server's greeting.
func (c *Client) Greeting() string { return c.greeting }

// TLS reports whether the connection is encrypted.
func (c *Client) TLS() bool { return c.isTLS }

// Err returns why the session is unusable, or nil while it can go on.
// After a *Error (-ERR) it is nil: the server refused one command only.
func (c *Client) Err() error { return c.err }

// Close ends the connection without QUIT: the server deletes nothing
// (RFC 1939 §6). Use Quit to end a session normally.
func (c *Client) Close() error {
	if c.err == nil {
		c.err = net.ErrClosed
	}
	return c.conn.Close()
}

// fatal marks the session unusable and returns err.
func (c *Client) fatal(err error) error {
	if c.err == nil {
		c.err = err
		c.conn.Close()
	}
	return err
}

// watch makes ctx's cancellation interrupt the connection's I/O until the
// returned function is called. A cancelled session is dead.
func (c *Client) watch(ctx context.Context) func() {
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() { c.dc.cancel(context.Cause(ctx)) })
	return func() { stop() }
}

// ready checks that a command may be sent: the session is alive, and an
// open message body is read to its end first (Close drains).
func (c *Client) ready() error {
	if c.err != nil {
		return fmt.Errorf("pop3 session unusable: %w", c.err)
	}
	if c.body != nil {
		if err := c.closeBody(); err != nil {
			return err
		}
	}
	return nil
}

// send writes one command line into the buffer; flush sends it.
func (c *Client) send(line, redacted string) {
	if c.opts.Trace != nil {
		fmt.Fprintf(c.opts.Trace, "C: %s\n", redacted)
	}
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
}

func (c *Client) flush() error {
	if err := c.bw.Flush(); err != nil {
		return c.fatal(c.dc.wrap(fmt.Errorf("sending command: %w", err)))
	}
	return nil
}

// readLine reads a status or listing line; an I/O error or garbage kills
// the session.
func (c *Client) readLine(cmd string) ([]byte, error) {
	line, err := readLine(c.br, maxResponseLine)
	if err != nil {
		if errors.Is(err, errLineTooLong) {
			return nil, c.fatal(protocolError(cmd, nil, err.Error()))
		}
		return nil, c.fatal(c.dc.wrap(fmt.Errorf("reading response to %s: %w", cmd, err)))
	}
	if c.opts.Trace != nil {
		fmt.Fprintf(c.opts.Trace, "S: %s\n", line)
	}
	return line, nil
}

// status reads a status line: its text after +OK, an *Error for -ERR.
func (c *Client) status(cmd string) (string, error) {
	line, err := c.readLine(cmd)
	if err != nil {
		return "", err
	}
	text, err := parseStatus(cmd, line)
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return "", c.fatal(err)
	}
	return text, err
}

// cmd sends one command and reads its status line. redacted is what logs
// and errors show of it.
func (c *Client) cmd(line, redacted string) (string, error) {
	if err := c.ready(); err != nil {
		return "", err
	}
	c.send(line, redacted)
	if err := c.flush(); err != nil {
		return "", err
	}
	return c.status(redacted)
}

// listing reads the lines of a multi-line response after its +OK; a
// response that cannot be read to its end kills the session.
func (c *Client) listing(cmd string, fn func(line []byte)) error {
	err := readListing(c.br, func(line []byte) {
		if c.opts.Trace != nil {
			fmt.Fprintf(c.opts.Trace, "S: %s\n", line)
		}
		fn(line)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errLineTooLong):
		return c.fatal(protocolError(cmd, nil, err.Error()))
	default:
		return c.fatal(c.dc.wrap(fmt.Errorf("reading response to %s: %w", cmd, err)))
	}
}

// deadlineConn gives every Read and Write its own deadline (the idle
// timeout), and lets a cancelled context break a pending call.
type deadlineConn struct {
	net.Conn
	idle time.Duration

	mu     sync.Mutex
	reason error // set once the context is cancelled
}

func (d *deadlineConn) cancel(cause error) {
	d.mu.Lock()
	if d.reason == nil {
		d.reason = cause
	}
	d.mu.Unlock()
	// A deadline in the past wakes any blocked Read or Write; Read and
	// Write check reason after setting their own deadline, so this one
	// cannot be overwritten unnoticed.
	d.Conn.SetDeadline(time.Unix(1, 0))
}

func (d *deadlineConn) cancelled() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reason
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	d.Conn.SetReadDeadline(time.Now().Add(d.idle))
	if err := d.cancelled(); err != nil {
		return 0, err
	}
	n, err := d.Conn.Read(p)
	if err != nil {
		if r := d.cancelled(); r != nil {
			err = r
		}
	}
	return n, err
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	d.Conn.SetWriteDeadline(time.Now().Add(d.idle))
	if err := d.cancelled(); err != nil {
		return 0, err
	}
	n, err := d.Conn.Write(p)
	if err != nil {
		if r := d.cancelled(); r != nil {
			err = r
		}
	}
	return n, err
}

// wrap names a timeout as the idle timeout it is.
func (d *deadlineConn) wrap(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && d.cancelled() == nil {
		return fmt.Errorf("%w (nothing received for %v)", err, d.idle)
	}
	return err
}
