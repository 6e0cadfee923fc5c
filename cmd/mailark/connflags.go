package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/mailark/mailark/internal/secret"
	"github.com/mailark/mailark/internal/tlsopt"
	"github.com/spf13/cobra"
)

// connFlags are the connection flags every network command shares
// (import imap/pop3, export imap/smtp).
type connFlags struct {
	host, port, tlsMode, user string
	tlsCA                     string
	insecureSkipVerify        bool
	password                  secret.Source
}

func (c *connFlags) addFlags(cmd *cobra.Command, defaultMode tlsopt.Mode) {
	f := cmd.Flags()
	f.StringVar(&c.host, "host", "", "server host name (required)")
	f.StringVar(&c.port, "port", "", "server port (default: the protocol's port for --tls)")
	f.StringVar(&c.tlsMode, "tls", string(defaultMode), "tls (implicit TLS), starttls, or none (no encryption: passwords in clear)")
	f.StringVar(&c.tlsCA, "tls-ca", "", "PEM file of CA certificates to trust besides the system's (private servers)")
	f.BoolVar(&c.insecureSkipVerify, "insecure-skip-verify", false, "accept ANY server certificate (INSECURE: anyone on the path can read your password)")
	f.StringVar(&c.user, "user", "", "user name")
	f.StringVar(&c.password.File, "password-file", "", "read the password from the first line of this file")
	f.StringVar(&c.password.Env, "password-env", "", "read the password from this environment variable")
	f.StringVar(&c.password.Cmd, "password-cmd", "", "run this shell command and read the password from its first line (like mbsync's PassCmd)")
}

// resolve checks the flags and returns host:port and the TLS options.
func (c *connFlags) resolve(protocol string) (string, tlsopt.Options, error) {
	var o tlsopt.Options
	if c.host == "" {
		return "", o, &usageError{errors.New("--host is required")}
	}
	m, err := tlsopt.ParseMode(c.tlsMode)
	if err != nil {
		return "", o, &usageError{err}
	}
	if err := c.password.Validate(); err != nil {
		return "", o, &usageError{err}
	}
	port := c.port
	if port == "" {
		port = tlsopt.DefaultPort(protocol, m)
	}
	o = tlsopt.Options{Mode: m, CAFile: c.tlsCA, InsecureSkipVerify: c.insecureSkipVerify}
	return net.JoinHostPort(c.host, port), o, nil
}

// String describes the connection for logs and reports, without secrets.
func (c *connFlags) String() string {
	return fmt.Sprintf("%s@%s (%s)", c.user, c.host, c.tlsMode)
}
