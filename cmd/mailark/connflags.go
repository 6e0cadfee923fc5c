package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/mailark/mailark/internal/config"

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

// tlsConfig is the TLS configuration for the server of --host (to comes
// from resolve), after a warning when the flags weaken it: --tls none
// sends a password in clear, --insecure-skip-verify accepts any
// certificate.
func (c *connFlags) tlsConfig(g *globalOptions, protocol string, to tlsopt.Options) (*tls.Config, error) {
	cfg, err := to.Config(c.host)
	if err != nil {
		return nil, &usageError{err}
	}
	switch {
	case to.Mode == tlsopt.None:
		switch {
		case c.user == "":
		case protocol == "pop3":
			// APOP (RFC 1939) sends a digest, but few servers offer it.
			g.log.Warn("--tls none: the password crosses the network in clear unless the server offers APOP")
		default:
			g.log.Warn("--tls none: the password crosses the network in clear")
		}
	case to.InsecureSkipVerify:
		g.log.Warn("--insecure-skip-verify: the server's certificate is not checked")
	}
	return cfg, nil
}

// String describes the connection for logs and reports, without secrets.
func (c *connFlags) String() string {
	return fmt.Sprintf("%s@%s (%s)", c.user, c.host, c.tlsMode)
}

// applyTarget fills the connection flags the command line left unset from
// the [[target]] named name in ARCHIVE/mailark.toml (flags override the
// file), and returns the target for its kind-specific settings.
func applyTarget(cmd *cobra.Command, g *globalOptions, kind, name string, c *connFlags) (config.Target, error) {
	path := filepath.Join(g.archiveDir, config.FileName)
	cfg, err := config.Load(path)
	if err != nil {
		return config.Target{}, err
	}
	t, ok := cfg.Target(name)
	if !ok {
		return t, &usageError{fmt.Errorf("--target %q: no such [[target]] in %s", name, path)}
	}
	if t.Kind != kind {
		return t, &usageError{fmt.Errorf("--target %q is a %s target, not %s (%s:%d)", name, t.Kind, kind, path, t.Line())}
	}
	changed := cmd.Flags().Changed
	set := func(flag string, dst *string, v string) {
		if !changed(flag) && v != "" {
			*dst = v
		}
	}
	set("host", &c.host, t.Host)
	if t.Port > 0 {
		set("port", &c.port, strconv.Itoa(t.Port))
	}
	set("tls", &c.tlsMode, t.TLS)
	set("tls-ca", &c.tlsCA, t.TLSCA)
	set("user", &c.user, t.User)
	if !changed("insecure-skip-verify") && t.InsecureSkipVerify {
		c.insecureSkipVerify = true
	}
	if !changed("password-file") && !changed("password-env") && !changed("password-cmd") {
		c.password = secret.Source{File: t.PasswordFile, Env: t.PasswordEnv, Cmd: t.PasswordCmd}
	}
	return t, nil
}
