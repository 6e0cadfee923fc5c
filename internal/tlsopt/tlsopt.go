// Package tlsopt turns mailark's connection flags (--tls, --tls-ca,
// --insecure-skip-verify) into a tls.Config, the same way for IMAP, POP3
// and SMTP.
package tlsopt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
)

// Mode is how a connection is secured.
type Mode string

const (
	// Implicit: TLS from the first byte (IMAPS 993, POP3S 995, SMTPS 465).
	Implicit Mode = "tls"
	// StartTLS: plain connect, then STARTTLS/STLS, required before login.
	StartTLS Mode = "starttls"
	// None: no TLS at all; passwords cross the network in clear. Only on
	// explicit request.
	None Mode = "none"
)

// ParseMode checks a --tls value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Implicit, StartTLS, None:
		return m, nil
	}
	return "", fmt.Errorf("--tls %q: want tls, starttls or none", s)
}

// Options are the TLS flags of one connection.
type Options struct {
	Mode               Mode
	CAFile             string // PEM bundle of extra trusted CAs (private servers)
	InsecureSkipVerify bool   // accept any certificate: loudly named, never the default
}

// Config returns the tls.Config for host ("imap.example.org" or an IP).
// Certificates are verified against the system roots, plus CAFile.
func (o Options) Config(host string) (*tls.Config, error) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading --tls-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// DefaultPort returns the usual port for a protocol and mode.
func DefaultPort(protocol string, m Mode) string {
	switch protocol {
	case "imap":
		if m == Implicit {
			return "993"
		}
		return "143"
	case "pop3":
		if m == Implicit {
			return "995"
		}
		return "110"
	case "smtp":
		if m == Implicit {
			return "465"
		}
		return "587"
	}
	return ""
}
