package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/mailark/mailark/internal/imapdial"
)

// idleConn is the watchdog under every connection. While armed (a command
// is outstanding) each Read may wait at most idle for data; every read that
// returns bytes starts the wait afresh. Disarmed, reads wait without limit:
// nothing is expected from the server. The client library's own read
// deadlines are ignored (see the package documentation); write deadlines
// pass through.
type idleConn struct {
	net.Conn
	idle time.Duration

	mu      sync.Mutex
	armed   bool
	expired bool // a read timed out while armed
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.armed {
		c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		c.expired = true
		c.mu.Unlock()
		return n, fmt.Errorf("%w: nothing received for %v", ErrStalled, c.idle)
	}
	return n, err
}

func (c *idleConn) SetReadDeadline(time.Time) error { return nil }

func (c *idleConn) SetDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(t) }

// arm starts the watchdog: a response is expected.
func (c *idleConn) arm() {
	c.mu.Lock()
	c.armed = true
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	c.mu.Unlock()
}

// disarm stops it: the connection may be silent now.
func (c *idleConn) disarm() {
	c.mu.Lock()
	c.armed = false
	c.Conn.SetReadDeadline(time.Time{})
	c.mu.Unlock()
}

func (c *idleConn) stalled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expired
}

// ErrStalled is the cause of a connection given up because the server sent
// nothing for Options.IdleTimeout while a response was due. (imapclient
// formats the errors it passes on with %v, so the worker asks the
// connection, idleConn.stalled, rather than errors.Is.)
var ErrStalled = errors.New("server stalled")

// session is one logged-in connection.
type session struct {
	c        *imapclient.Client
	conn     *idleConn
	stop     func() bool // ends the ctx watch
	selected *folder     // the folder EXAMINEd on this connection, if any
}

// dial connects, secures and logs in. Errors wrapping ErrAuth are final;
// others may be retried.
func dial(ctx context.Context, o *Options) (*session, error) {
	raw, err := o.Dial(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", o.Addr, err)
	}
	ic := &idleConn{Conn: raw, idle: o.IdleTimeout}
	ic.arm()
	// imapclient takes no context: closing the connection is how ctx
	// interrupts whatever it is doing.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	s, err := open(ctx, o, ic)
	if err != nil {
		stop()
		raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	s.stop = stop
	ic.disarm()
	return s, nil
}

func open(ctx context.Context, o *Options, ic *idleConn) (*session, error) {
	c, err := imapdial.Open(ctx, ic, o.TLS, o.Addr, &imapclient.Options{TLSConfig: o.TLSConfig})
	if err != nil {
		return nil, err
	}
	if c.State() != imap.ConnStateAuthenticated {
		if err := login(c, o); err != nil {
			c.Close()
			return nil, err
		}
	}
	return &session{c: c, conn: ic}, nil
}

func login(c *imapclient.Client, o *Options) error {
	caps := c.Caps()
	auth := o.Auth
	if auth == AuthAuto {
		auth = AuthLogin
		if slices.ContainsFunc(caps.AuthMechanisms(), func(m string) bool { return strings.EqualFold(m, "PLAIN") }) {
			auth = AuthPlain
		}
	}
	var err error
	switch auth {
	case AuthLogin:
		if caps.Has(imap.CapLoginDisabled) {
			return fmt.Errorf("%w: the server disables LOGIN on this connection (LOGINDISABLED); try --auth plain or TLS", ErrAuth)
		}
		err = c.Login(o.User, o.Password).Wait()
	case AuthPlain:
		err = c.Authenticate(sasl.NewPlainClient("", o.User, o.Password))
	case AuthXOAuth2:
		err = c.Authenticate(xoauth2{o.User, o.Password})
	case AuthOAuthBearer:
		err = c.Authenticate(oauthBearer{sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: o.User, Token: o.Password})})
	default:
		return fmt.Errorf("unknown auth mechanism %q", auth)
	}
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return fmt.Errorf("%w: %s as %s: %v", ErrAuth, auth, o.User, ie)
	}
	return fmt.Errorf("logging in as %s (%s): %w", o.User, auth, err)
}

// close logs out politely within a short time, then closes.
func (s *session) close() {
	if s == nil {
		return
	}
	s.conn.arm()
	done := make(chan struct{})
	go func() {
		s.c.Logout().Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(min(s.conn.idle, 5*time.Second)):
	}
	s.c.Close()
	if s.stop != nil {
		s.stop()
	}
}

// abort drops the connection at once (after an error). No command may
// have a literal left unread (see fetch), or Close would wait forever.
func (s *session) abort() {
	s.conn.Conn.Close()
	s.c.Close()
	if s.stop != nil {
		s.stop()
	}
}

// xoauth2 is Google's and Microsoft's SASL XOAUTH2 (go-sasl has none).
type xoauth2 struct{ user, token string }

func (a xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON status) with an empty
// response, after which the server ends the exchange with NO.
func (a xoauth2) Next([]byte) ([]byte, error) { return []byte{}, nil }

// oauthBearer is go-sasl's OAUTHBEARER client, but answers an error
// challenge with the RFC 7628 dummy response instead of abandoning the
// exchange half-way (which leaves the server waiting).
type oauthBearer struct{ sasl.Client }

func (a oauthBearer) Next([]byte) ([]byte, error) { return []byte{0x01}, nil }

// permanent reports whether retrying a failed connection is pointless:
// the login or the certificate was refused, or the server will not do TLS.
func permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	return errors.Is(err, ErrAuth) || errors.Is(err, errNoStartTLS) || errors.As(err, &cv)
}

// errNoStartTLS: the server will not do STARTTLS; it is not retried.
var errNoStartTLS = imapdial.ErrNoStartTLS
