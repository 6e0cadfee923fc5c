// Package imapdial starts an IMAP client session on a connection the
// caller opened (and wrapped, for its deadlines): implicit TLS, STARTTLS
// or none, then the greeting. The IMAP importer and exporter share it;
// logging in stays theirs (they offer different mechanisms).
package imapdial

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailark/mailark/internal/tlsopt"
)

// ErrNoStartTLS: the server answered STARTTLS with NO or BAD, or does
// not offer it. Asking again will not change that, so callers do not
// retry it.
var ErrNoStartTLS = errors.New("STARTTLS refused")

// Open starts the session on raw in mode, with copts.TLSConfig for TLS
// (implicit TLS also asks for the "imap" ALPN protocol), and waits for
// the greeting. addr names the server in errors. On error raw is not
// closed.
func Open(ctx context.Context, raw net.Conn, mode tlsopt.Mode, addr string, copts *imapclient.Options) (*imapclient.Client, error) {
	var c *imapclient.Client
	switch mode {
	case tlsopt.Implicit:
		cfg := copts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.NextProtos == nil {
			cfg.NextProtos = []string{"imap"}
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		c = imapclient.New(tc, copts)
	case tlsopt.StartTLS:
		var err error
		c, err = imapclient.NewStartTLS(raw, copts)
		var ie *imap.Error
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("%w by %s: %v (use --tls tls for implicit TLS; --tls none only if you accept sending the password in clear)", ErrNoStartTLS, addr, ie)
		}
		if err != nil {
			return nil, fmt.Errorf("STARTTLS with %s: %w (use --tls tls for implicit TLS)", addr, err)
		}
	case tlsopt.None:
		c = imapclient.New(raw, copts)
	default:
		return nil, fmt.Errorf("unknown TLS mode %q", mode)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("reading the greeting of %s: %w", addr, err)
	}
	return c, nil
}
