package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/mailark/mailark/internal/imapdial"
)

// ErrAuth reports a login the server refused; retrying will not help.
var ErrAuth = errors.New("login refused")

// errNoStartTLS: the server will not do STARTTLS; it is not retried.
var errNoStartTLS = imapdial.ErrNoStartTLS

// session is one logged-in connection.
type session struct {
	c     *imapclient.Client
	watch *watchConn  // over the raw connection: the idle watchdog
	stop  func() bool // ends the context watch
}

// dial connects, secures and logs in. imapclient takes no context, so the
// connection is closed when ctx ends: whatever it was doing then fails.
func dial(ctx context.Context, o *Options) (*session, error) {
	raw, err := o.Dial(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", o.Addr, err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	wc := &watchConn{Conn: raw, timeout: o.IdleTimeout}
	release := wc.expect() // the greeting, STARTTLS, login
	c, err := open(ctx, o, wc)
	release()
	if err != nil {
		stop()
		raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return &session{c: c, watch: wc, stop: stop}, nil
}

func open(ctx context.Context, o *Options, raw net.Conn) (*imapclient.Client, error) {
	c, err := imapdial.Open(ctx, raw, o.TLS, o.Addr, &imapclient.Options{TLSConfig: o.TLSConfig, DebugWriter: o.DebugWriter})
	if err != nil {
		return nil, err
	}
	if c.State() == imap.ConnStateAuthenticated {
		return c, nil
	}
	if err := login(c, o); err != nil {
		c.Close()
		return nil, err
	}
	// Login forgets the capabilities; ask again now, or imapclient writes
	// every literal synchronously (it looks for LITERAL+ only in what it
	// already knows) and APPENDLIMIT goes unseen.
	c.Caps()
	return c, nil
}

// login uses AUTHENTICATE PLAIN when offered, else LOGIN.
func login(c *imapclient.Client, o *Options) error {
	caps := c.Caps()
	var err error
	if slices.ContainsFunc(caps.AuthMechanisms(), func(m string) bool { return strings.EqualFold(m, "PLAIN") }) {
		err = c.Authenticate(sasl.NewPlainClient("", o.User, o.Password))
	} else {
		if caps.Has(imap.CapLoginDisabled) {
			return fmt.Errorf("%w: the server disables LOGIN on this connection and offers no PLAIN (use TLS)", ErrAuth)
		}
		err = c.Login(o.User, o.Password).Wait()
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return fmt.Errorf("%w: %s at %s: %v", ErrAuth, o.User, o.Addr, ie)
	}
	if err != nil {
		return fmt.Errorf("logging in as %s at %s: %w", o.User, o.Addr, err)
	}
	return nil
}

// dialRetry dials up to attempts times with exponential back-off, giving
// up at once on a refused login or certificate.
func dialRetry(ctx context.Context, o *Options, attempts int) (*session, error) {
	delay := 500 * time.Millisecond
	var err error
	for i := 0; i < attempts; i++ {
		var s *session
		if s, err = dial(ctx, o); err == nil {
			return s, nil
		}
		var cv *tls.CertificateVerificationError
		if errors.Is(err, ErrAuth) || errors.Is(err, errNoStartTLS) || errors.As(err, &cv) || ctx.Err() != nil {
			return nil, err
		}
		o.Logger.Warn("connecting failed; trying again", "addr", o.Addr, "in", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		delay = min(delay*2, 10*time.Second)
	}
	return nil, err
}

// logout says goodbye within a short time, then closes.
func (s *session) logout() {
	if s == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		s.c.Logout().Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	s.abort()
}

// abort drops the connection at once.
func (s *session) abort() {
	if s == nil {
		return
	}
	s.c.Close()
	s.watch.Conn.Close()
	s.stop()
}

// broken reports whether the connection has been closed.
func (s *session) broken() bool {
	select {
	case <-s.c.Closed():
		return true
	default:
		return false
	}
}
