package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/tlsopt"
)

// Auth is a login mechanism.
type Auth string

// Login mechanisms. AuthAuto uses AUTHENTICATE PLAIN when the server
// offers it and the LOGIN command otherwise.
const (
	AuthAuto        Auth = ""
	AuthPlain       Auth = "plain"
	AuthLogin       Auth = "login"
	AuthXOAuth2     Auth = "xoauth2"
	AuthOAuthBearer Auth = "oauthbearer"
)

// ParseAuth checks an --auth value.
func ParseAuth(s string) (Auth, error) {
	switch a := Auth(strings.ToLower(s)); a {
	case AuthAuto, AuthPlain, AuthLogin, AuthXOAuth2, AuthOAuthBearer:
		return a, nil
	}
	return "", fmt.Errorf("--auth %q: want plain, login, xoauth2 or oauthbearer", s)
}

// Options configure Run and DryRun. Zero durations and counts take the
// defaults named on each field.
type Options struct {
	Addr string // host:port to connect to
	// Host names the server in the sync state ("imap:<host>/<user>/...");
	// empty means the host part of Addr.
	Host string
	TLS  tlsopt.Mode // Implicit, StartTLS or None; "" is StartTLS
	// TLSConfig verifies the server; nil means the system roots and the
	// host name of Addr.
	TLSConfig *tls.Config

	User     string
	Password string // the password, or the bearer token for XOAUTH2/OAUTHBEARER
	Auth     Auth

	Account string // archive account; "" means AccountName(User)

	// Include and Exclude are glob patterns on canonical folder names (see
	// [archive.MatchFolder]). No Include means every folder.
	Include, Exclude []string

	Connections int  // parallel connections; default 3
	DryRun      bool // set by DryRun: list and count only

	ConnectTimeout time.Duration // TCP connect; default 30 s
	// IdleTimeout is how long a read may wait for the server's next bytes
	// while a command is outstanding; default 60 s. It bounds a stall, not
	// a transfer: a literal of any size is fine while bytes flow.
	IdleTimeout time.Duration
	RetryDelay  time.Duration // first back-off after a dropped connection; default 1 s, doubling to 30 s
	MaxRetries  int           // consecutive failures before giving up; default 5

	BatchMessages int   // UIDs per UID FETCH; default 200
	BatchBytes    int64 // RFC822.SIZE budget per UID FETCH; default 32 MiB

	Logger *slog.Logger // nil discards
	// Dial opens the TCP connection; nil uses net.Dialer with
	// ConnectTimeout. Tests put fault-injecting proxies here.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ErrAuth marks a login the server refused: retrying will not help.
var ErrAuth = errors.New("login refused")

func (o *Options) setDefaults() error {
	if o.Addr == "" {
		return errors.New("imap: no server address")
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return fmt.Errorf("imap: server address %q: %w", o.Addr, err)
	}
	if o.Host == "" {
		o.Host = host
	}
	o.Host = strings.ToLower(o.Host)
	if o.TLS == "" {
		o.TLS = tlsopt.StartTLS
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if o.User == "" {
		return errors.New("imap: no user name")
	}
	if o.Account == "" {
		o.Account = AccountName(o.User)
	}
	for _, p := range append(append([]string(nil), o.Include...), o.Exclude...) {
		if _, err := archive.MatchFolder(p, archive.Inbox); err != nil {
			return err
		}
	}
	if o.Connections <= 0 {
		o.Connections = 3
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 5
	}
	if o.BatchMessages <= 0 {
		o.BatchMessages = 200
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 32 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: o.ConnectTimeout}
		o.Dial = d.DialContext
	}
	return nil
}

// backoff returns the delay before the n-th retry (n >= 1).
func (o *Options) backoff(n int) time.Duration {
	d := o.RetryDelay
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	return min(d, max(30*time.Second, o.RetryDelay))
}

// AccountName turns an IMAP user name into a valid archive account name:
// characters other than A-Z a-z 0-9 . _ @ + - become '_', leading '.' and
// '-' are dropped, and the result is cut to 64 bytes; "imap" if nothing
// is left.
func AccountName(user string) string {
	var b strings.Builder
	for _, r := range user {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)
		if !ok {
			r = '_'
		}
		b.WriteRune(r)
	}
	s := strings.TrimLeft(b.String(), ".-")
	if len(s) > 64 {
		s = s[:64]
	}
	if strings.Trim(s, "_") == "" {
		return "imap"
	}
	return s
}
