package imapserver

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// guardConn sits between a client's socket and go-imap. It is the one
// place for transport policy, which go-imap leaves to its users or does
// otherwise than this server wants:
//
//   - STARTTLS: done here, below go-imap, so that the guard keeps reading
//     plaintext afterwards; bytes a client pipelined after STARTTLS are
//     dropped (no plaintext command injection, cf. CVE-2011-0411).
//   - LOGINDISABLED: before login on a plaintext connection that may not
//     authenticate, "AUTH=PLAIN" in capability lines becomes "LOGINDISABLED"
//     (and "STARTTLS" is offered when TLS is configured). Session.Login
//     refuses such connections too.
//   - SELECT is passed to go-imap as EXAMINE: go-imap answers SELECT with
//     [READ-WRITE], and every mailbox here is read-only.
//   - literals: a non-synchronizing literal over 4096 bytes breaks
//     LITERAL- (the only kind advertised): the client is disconnected
//     before the literal is read. Synchronizing literals over go-imap's
//     limits are refused by go-imap before the client sends them.
//   - a token bucket of commands per connection: a client over the rate
//     is slowed down, and one that stays over it for MaxThrottle is
//     disconnected.
//   - graceful shutdown: when draining, a connection between two commands
//     gets "* BYE" and EOF; one inside a command finishes it first.
type guardConn struct {
	srv      *Server
	remote   netip.Addr
	plainOK  bool // plaintext authentication allowed (loopback)
	release  func()
	draining atomic.Bool
	authed   atomic.Bool
	closed   sync.Once

	wmu     sync.Mutex // serialises writes and the STARTTLS switch
	t       net.Conn   // transport: the socket, or TLS over it
	wbuf    []byte     // responses held back (see Write)
	reading bool       // the reader waits for the client: write through
	isTLS   bool
	tlsDone atomic.Bool

	// Read side, used by go-imap's one reading goroutine only.
	in, out     []byte
	buf         []byte
	rerr        error
	lineStart   bool
	literal     int64  // literal bytes still to pass through
	tail        []byte // end of the current line segment, to spot {N}
	cmd         string // current command name, upper case
	tag         string // current command's tag
	segment     int    // literals passed in the current command
	tokens      float64
	lastRefill  time.Time
	throttledAt time.Time
}

func newGuardConn(srv *Server, c net.Conn, implicitTLS *tls.Config, release func()) *guardConn {
	g := &guardConn{srv: srv, t: c, release: release, lineStart: true, buf: make([]byte, 16<<10),
		tokens: float64(srv.cfg.CommandBurst), lastRefill: time.Now()}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		g.remote = ap.Addr().Unmap()
	}
	if la, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
		g.plainOK = srv.cfg.PlainLoopback && la.Addr().Unmap().IsLoopback()
	}
	if implicitTLS != nil {
		g.t = tls.Server(c, implicitTLS)
		g.isTLS = true
		g.tlsDone.Store(true)
	}
	return g
}

// authAllowed reports whether a client may send a password on this
// connection now.
func (g *guardConn) authAllowed() bool { return g.plainOK || g.tlsDone.Load() }

func (g *guardConn) transport() net.Conn {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	return g.t
}

func (g *guardConn) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		if g.rerr != nil {
			return 0, g.rerr
		}
		if err := g.fill(); err != nil {
			// Sticky: bufio hands an error out once, and go-imap may read
			// again after it.
			g.rerr = err
			if errors.Is(err, errAbuse) {
				g.Close()
			}
		}
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

// errAbuse ends a connection that broke the rules.
var errAbuse = errors.New("client disconnected for abuse")

// fill processes buffered input or reads more.
func (g *guardConn) fill() error {
	if len(g.in) > 0 {
		progressed, err := g.process()
		if err != nil || progressed {
			return err
		}
	}
	if g.draining.Load() && g.lineStart && len(g.in) == 0 && g.literal == 0 {
		g.bye("Server shutting down")
		return io.EOF
	}
	g.wmu.Lock()
	t := g.t
	if err := g.flushLocked(true); err != nil {
		g.wmu.Unlock()
		return err
	}
	g.reading = true
	g.wmu.Unlock()
	n, err := t.Read(g.buf)
	g.wmu.Lock()
	g.reading = false
	g.wmu.Unlock()
	if n > 0 {
		g.in = append(g.in, g.buf[:n]...)
		return nil
	}
	if err != nil && g.draining.Load() {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			if g.lineStart && len(g.in) == 0 {
				g.bye("Server shutting down")
			}
			return io.EOF
		}
	}
	return err
}

// process moves input to output, applying the rules; it reports whether
// it produced output or changed state (else more input is needed).
func (g *guardConn) process() (bool, error) {
	start := len(g.out)
	for len(g.in) > 0 {
		switch {
		case g.literal > 0:
			n := int(min(g.literal, int64(len(g.in))))
			g.out = append(g.out, g.in[:n]...)
			g.in = g.in[n:]
			g.literal -= int64(n)
		case g.lineStart:
			done, err := g.command()
			if err != nil {
				return true, err
			}
			if !done {
				return len(g.out) > start, nil
			}
		default:
			done, err := g.line()
			if err != nil {
				return true, err
			}
			if !done {
				return len(g.out) > start, nil
			}
		}
	}
	return len(g.out) > start, nil
}

// command looks at the start of a command line: tag, name. It reports
// false when more input is needed to tell.
func (g *guardConn) command() (bool, error) {
	const maxHead = 128
	head := g.in[:min(len(g.in), maxHead)]
	eol := bytes.IndexByte(head, '\n')
	sp1 := bytes.IndexByte(head, ' ')
	sp2 := -1
	if sp1 >= 0 {
		if j := bytes.IndexByte(head[sp1+1:], ' '); j >= 0 {
			sp2 = sp1 + 1 + j
		}
	}
	if eol < 0 && sp2 < 0 && len(head) < maxHead {
		return false, nil
	}
	cmd := ""
	if sp1 > 0 && (eol < 0 || sp1 < eol) {
		end := sp2
		if end < 0 || (eol >= 0 && eol < end) {
			end = eol
		}
		if end < 0 {
			end = len(head)
		}
		cmd = string(bytes.ToUpper(bytes.TrimRight(head[sp1+1:end], "\r\n")))
	}
	starttls := cmd == "STARTTLS" && g.srv.cfg.TLSConfig != nil && !g.isTLS && !g.authed.Load() && eol >= 0
	if starttls && len(g.out) > 0 {
		// Let go-imap answer the commands before it first.
		return false, nil
	}
	g.lineStart = false
	g.tail = g.tail[:0]
	g.cmd, g.segment, g.tag = cmd, 0, ""
	if cmd != "" {
		g.tag = string(head[:sp1])
	}
	if err := g.rateLimit(); err != nil {
		return true, err
	}
	switch g.cmd {
	case "SELECT":
		if sp2 > 0 && (eol < 0 || sp2 < eol) {
			g.out = append(g.out, g.in[:sp1+1]...)
			g.out = append(g.out, "EXAMINE"...)
			g.in = g.in[sp2:]
		}
	case "STARTTLS":
		if starttls {
			return true, g.startTLS(string(head[:sp1]))
		}
	}
	return true, nil
}

// line passes a line through once it is complete, spotting a literal at
// its end. A line longer than maxLine goes through as it comes (go-imap
// refuses it).
func (g *guardConn) line() (bool, error) {
	const maxLine = 64 << 10
	i := bytes.IndexByte(g.in, '\n')
	if i < 0 {
		if len(g.in) < maxLine {
			return false, nil
		}
		g.keepTail(g.in)
		g.out = append(g.out, g.in...)
		g.in = g.in[:0]
		return true, nil
	}
	g.keepTail(g.in[:i+1])
	size, nonSync, ok := literalAtEnd(g.tail)
	g.tail = g.tail[:0]
	// go-imap takes literals up to 4096 bytes, APPEND's up to MaxLiteral.
	limit := int64(4096)
	if g.cmd == "APPEND" && !nonSync {
		limit = g.srv.cfg.MaxLiteral
	}
	if ok && size > limit {
		if !nonSync && g.segment == 0 && g.cmd != "APPEND" {
			// go-imap would answer nothing (it loses the error): say NO
			// here; the client sends no data without "+".
			g.in = g.in[i+1:]
			g.lineStart = true
			g.reply(g.tag + " NO [TOOBIG] Literals are limited to 4096 bytes for this command")
			return true, nil
		}
		if nonSync || g.cmd != "APPEND" {
			// LITERAL- allows 4096 bytes non-synchronizing: the data
			// would be parsed as commands. The line is not passed on;
			// the connection ends.
			g.srv.log.Info("disconnecting a client: literal over the limit", "remote", g.remote, "size", size)
			g.bye("[TOOBIG] Literal too large")
			g.in = g.in[:0]
			return true, errAbuse
		}
		// APPEND over MaxLiteral: go-imap says NO [TOOBIG], unread.
	}
	g.out = append(g.out, g.in[:i+1]...)
	g.in = g.in[i+1:]
	g.lineStart = true
	if ok && size <= limit {
		g.literal, g.lineStart = size, false
		g.segment++
	}
	return true, nil
}

func (g *guardConn) keepTail(b []byte) {
	const keep = 32
	g.tail = append(g.tail, b[max(0, len(b)-keep):]...)
	if len(g.tail) > keep {
		g.tail = append(g.tail[:0], g.tail[len(g.tail)-keep:]...)
	}
}

// literalAtEnd parses "{N}" or "{N+}" (or literal8 "~{N}") before the CRLF
// that ends line.
func literalAtEnd(line []byte) (size int64, nonSync, ok bool) {
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if !bytes.HasSuffix(line, []byte("}")) {
		return 0, false, false
	}
	line = line[:len(line)-1]
	if bytes.HasSuffix(line, []byte("+")) {
		nonSync = true
		line = line[:len(line)-1]
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 || i == len(line)-1 {
		return 0, false, false
	}
	n, err := strconv.ParseInt(string(line[i+1:]), 10, 64)
	if err != nil {
		if len(line[i+1:]) > 18 && bytes.Trim(line[i+1:], "0123456789") == nil {
			return 1 << 62, nonSync, true
		}
		return 0, false, false
	}
	return n, nonSync, n >= 0
}

// rateLimit takes a token for one command, waiting when there is none.
func (g *guardConn) rateLimit() error {
	rate := g.srv.cfg.CommandRate
	if rate <= 0 {
		return nil
	}
	now := time.Now()
	g.tokens = min(float64(g.srv.cfg.CommandBurst), g.tokens+now.Sub(g.lastRefill).Seconds()*rate)
	g.lastRefill = now
	if g.tokens >= 1 {
		g.tokens--
		g.throttledAt = time.Time{}
		return nil
	}
	if g.throttledAt.IsZero() {
		g.throttledAt = now
	} else if now.Sub(g.throttledAt) > g.srv.cfg.MaxThrottle {
		g.srv.log.Info("disconnecting a client: too many commands", "remote", g.remote)
		g.bye("Too many commands")
		return errAbuse
	}
	wait := time.Duration((1 - g.tokens) / rate * float64(time.Second))
	time.Sleep(wait)
	g.tokens = 0
	g.lastRefill = time.Now()
	return nil
}

// startTLS answers STARTTLS and switches the transport to TLS.
func (g *guardConn) startTLS(tag string) error {
	// Drop what the client sent after the command: it was sent in plaintext.
	g.in = g.in[:0]
	g.lineStart = true
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if _, err := g.t.Write([]byte(tag + " OK Begin TLS negotiation now\r\n")); err != nil {
		return err
	}
	tc := tls.Server(g.t, g.srv.cfg.TLSConfig)
	g.t.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		return err
	}
	g.t.SetDeadline(time.Time{})
	g.t, g.isTLS = tc, true
	g.tlsDone.Store(true)
	return nil
}

// bye writes an untagged BYE, best effort.
func (g *guardConn) bye(text string) { g.reply("* BYE " + text) }

// reply writes a response line of the guard's own, best effort.
func (g *guardConn) reply(line string) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.t.SetWriteDeadline(time.Now().Add(2 * time.Second))
	g.flushLocked(false)
	g.t.Write([]byte(line + "\r\n"))
	g.t.SetWriteDeadline(time.Time{})
}

// Write coalesces responses once the client has logged in: go-imap
// flushes after every response, and a client pipelining a FETCH per
// message (mbsync) then gets one small segment per response. Responses
// are held until the reader is about to wait for the client (fill), or
// maxPending bytes are held; while the reader waits (IDLE updates), they
// go out at once.
func (g *guardConn) Write(p []byte) (int, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	q := p
	if !g.authed.Load() && !g.isTLS && bytes.Contains(p, []byte("CAPABILITY")) {
		if g.srv.cfg.TLSConfig != nil && !bytes.Contains(q, []byte(" STARTTLS")) {
			q = bytes.ReplaceAll(q, []byte(" AUTH=PLAIN"), []byte(" STARTTLS AUTH=PLAIN"))
		}
		if !g.plainOK {
			q = bytes.ReplaceAll(q, []byte(" AUTH=PLAIN"), []byte(" LOGINDISABLED"))
		}
	}
	if g.reading || !g.authed.Load() {
		if err := g.flushLocked(false); err != nil {
			return 0, err
		}
		if _, err := g.t.Write(q); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	g.wbuf = append(g.wbuf, q...)
	if len(g.wbuf) >= maxPending {
		if err := g.flushLocked(false); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

const maxPending = 64 << 10

// flushLocked sends the held responses; with own, under a write deadline
// of its own (go-imap sets one only while it writes).
func (g *guardConn) flushLocked(own bool) error {
	if len(g.wbuf) == 0 {
		return nil
	}
	if own {
		g.t.SetWriteDeadline(time.Now().Add(5 * time.Minute))
		defer g.t.SetWriteDeadline(time.Time{})
	}
	_, err := g.t.Write(g.wbuf)
	if cap(g.wbuf) > 4*maxPending {
		g.wbuf = nil
	} else {
		g.wbuf = g.wbuf[:0]
	}
	return err
}

func (g *guardConn) Close() error {
	var err error
	g.closed.Do(func() {
		g.wmu.Lock()
		g.t.SetWriteDeadline(time.Now().Add(5 * time.Second))
		g.flushLocked(false)
		g.wmu.Unlock()
		err = g.transport().Close()
		if g.release != nil {
			g.release()
		}
	})
	return err
}

// drain asks the connection to end after its current command.
func (g *guardConn) drain() {
	g.draining.Store(true)
	g.transport().SetReadDeadline(time.Now())
}

func (g *guardConn) LocalAddr() net.Addr  { return g.transport().LocalAddr() }
func (g *guardConn) RemoteAddr() net.Addr { return g.transport().RemoteAddr() }
func (g *guardConn) SetDeadline(t time.Time) error {
	if err := g.SetReadDeadline(t); err != nil {
		return err
	}
	return g.SetWriteDeadline(t)
}
func (g *guardConn) SetReadDeadline(t time.Time) error {
	if g.draining.Load() {
		t = time.Now()
	}
	return g.transport().SetReadDeadline(t)
}
func (g *guardConn) SetWriteDeadline(t time.Time) error {
	return g.transport().SetWriteDeadline(t)
}
