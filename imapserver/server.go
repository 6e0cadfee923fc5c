package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"
)

// Config configures a Server. Zero values take the defaults in comments.
type Config struct {
	Archive   *archive.Archive // required
	Index     *search.Index    // for SEARCH TEXT/BODY; nil: those scan the files
	UsersFile string           // required; reread when it changes
	Logger    *slog.Logger     // nil: discard

	// TLSConfig enables STARTTLS and ServeTLS.
	TLSConfig *tls.Config
	// PlainLoopback lets clients log in without TLS on connections to a
	// loopback address. Elsewhere, passwords need TLS.
	PlainLoopback bool

	MaxConnections int           // all clients (200)
	MaxPerIP       int           // per remote address (20)
	CommandRate    float64       // commands per second per connection (5000); <0: no limit
	CommandBurst   int           // (10000)
	MaxThrottle    time.Duration // a client over the rate this long is disconnected (10 s)
	LoginDelay     time.Duration // first failed-login delay (500 ms)
	MaxLoginDelay  time.Duration // (8 s)
	LoginTimeout   time.Duration // to log in after connecting (60 s)
	IdlePoll       time.Duration // how often IDLE looks for new mail (5 s)
	MaxLiteral     int64         // APPEND literals larger are refused unread (64 KiB)
	CacheSize      int           // messages whose ENVELOPE/BODYSTRUCTURE are kept (4096)
	// DebugWriter receives the raw protocol, passwords included.
	DebugWriter io.Writer
}

func (c *Config) defaults() {
	set := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	set(&c.MaxConnections, 200)
	set(&c.MaxPerIP, 20)
	set(&c.CommandBurst, 10000)
	set(&c.CacheSize, 4096)
	if c.CommandRate == 0 {
		c.CommandRate = 5000
	}
	if c.MaxLiteral == 0 {
		c.MaxLiteral = 64 << 10
	}
	setD(&c.MaxThrottle, 10*time.Second)
	setD(&c.LoginDelay, 500*time.Millisecond)
	setD(&c.MaxLoginDelay, 8*time.Second)
	setD(&c.LoginTimeout, 60*time.Second)
	setD(&c.IdlePoll, 5*time.Second)
}

// Server is the read-only IMAP server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	imap     *imapserver.Server
	users    *userDB
	throttle *loginThrottle
	cache    *msgCache
	bcrypt   chan struct{} // bounds concurrent password checks

	mu        sync.Mutex
	conns     map[*guardConn]struct{}
	perIP     map[netip.Addr]int
	listeners []net.Listener
	closing   bool
	idle      *sync.Cond // signalled when a connection ends
}

// New returns a server; it reads the users file once to check it.
func New(cfg Config) (*Server, error) {
	if cfg.Archive == nil {
		return nil, errors.New("imapserver: no archive")
	}
	cfg.defaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	users, err := newUserDB(cfg.UsersFile)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, users: users,
		throttle: newLoginThrottle(cfg.LoginDelay, cfg.MaxLoginDelay),
		cache:    newMsgCache(cfg.CacheSize),
		bcrypt:   make(chan struct{}, 2),
		conns:    map[*guardConn]struct{}{}, perIP: map[netip.Addr]int{}}
	s.idle = sync.NewCond(&s.mu)
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: s.newSession,
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapBinary: {},
			imap.CapChildren: {}},
		Logger:       imapLogger{log},
		InsecureAuth: true, // the guard and Session.Login decide (see guardConn)
		DebugWriter:  cfg.DebugWriter,
	})
	return s, nil
}

// imapLogger passes go-imap's messages to slog: a client's broken
// connection, or a command go-imap cannot parse (it answers some with
// "NO [SERVERBUG]", e.g. an unknown SEARCH key), is not the server's
// error; the Session logs its own errors with their context.
type imapLogger struct{ l *slog.Logger }

func (l imapLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.HasPrefix(msg, "failed to read command") || strings.HasPrefix(msg, "failed to write greeting") ||
		strings.HasPrefix(msg, "handling ") {
		l.l.Debug(msg)
		return
	}
	l.l.Error(msg)
}

// Serve accepts plaintext connections on ln (with STARTTLS when TLS is
// configured) until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, nil) }

// ServeTLS accepts implicit-TLS connections on ln.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.cfg.TLSConfig == nil {
		return errors.New("imapserver: ServeTLS needs a TLSConfig")
	}
	return s.serve(ln, s.cfg.TLSConfig)
}

func (s *Server) serve(ln net.Listener, tlsCfg *tls.Config) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	return s.imap.Serve(&listener{Listener: ln, srv: s, tls: tlsCfg})
}

// listener counts connections and wraps each in a guardConn; over a
// limit it answers BYE at once and closes.
type listener struct {
	net.Listener
	srv *Server
	tls *tls.Config
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var ip netip.Addr
		if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
			ip = ap.Addr().Unmap()
		}
		release, why := l.srv.admit(ip)
		if why != "" {
			l.srv.log.Info("refusing a connection", "remote", ip, "reason", why)
			if l.tls == nil {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write([]byte("* BYE " + why + "\r\n"))
			}
			c.Close()
			continue
		}
		g := newGuardConn(l.srv, c, l.tls, nil)
		g.release = func() { release(g) }
		l.srv.mu.Lock()
		l.srv.conns[g] = struct{}{}
		l.srv.mu.Unlock()
		return g, nil
	}
}

// admit counts a new connection from ip, or says why it is refused.
func (s *Server) admit(ip netip.Addr) (func(*guardConn), string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return nil, "Server shutting down"
	case len(s.conns) >= s.cfg.MaxConnections:
		return nil, "Too many connections"
	case s.perIP[ip] >= s.cfg.MaxPerIP:
		return nil, "Too many connections from your address"
	}
	s.perIP[ip]++
	return func(g *guardConn) {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.conns, g)
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
		s.idle.Broadcast()
	}, ""
}

// Connections returns the number of open client connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops accepting, lets each connection finish the command it
// is in (a connection between commands gets BYE at once), and closes what
// is left when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	lns := s.listeners
	s.listeners = nil
	var conns []*guardConn
	for g := range s.conns {
		conns = append(conns, g)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, g := range conns {
		g.drain()
	}
	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for len(s.conns) > 0 {
			s.idle.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for g := range s.conns {
			g.transport().Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// newSession is go-imap's NewSession hook.
func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	g, ok := c.NetConn().(*guardConn)
	if !ok {
		return nil, nil, errors.New("imapserver: connection not from this server's listener")
	}
	sess := &Session{srv: s, conn: g, log: s.log.With("remote", g.remote.String())}
	sess.loginTimer = time.AfterFunc(s.cfg.LoginTimeout, func() {
		if !g.authed.Load() {
			sess.log.Info("closing a connection that did not log in in time")
			g.bye("Autologout; no login in time")
			g.Close()
		}
	})
	return sess, nil, nil
}
