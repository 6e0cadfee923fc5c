package imap

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/downgradetest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// TestDowngradeImport: with --tls starttls (the default), the importer
// gives up before logging in when the server does not do STARTTLS or its
// certificate is not trusted, and does not retry either.
func TestDowngradeImport(t *testing.T) {
	const pass = "downgrade secret"
	downgradetest.Run(t, downgradetest.IMAP, func(t *testing.T, p *downgradetest.Peer, untrusted bool) {
		o := testOptions(t, p.Addr)
		o.TLS, o.Password = tlsopt.StartTLS, pass
		// What the command builds without --tls-ca: the system roots.
		cfg, err := tlsopt.Options{Mode: tlsopt.StartTLS}.Config(p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		o.TLSConfig = cfg
		a := archive.TestArchive(t)
		_, _, err = importInto(t, a, o)
		if err == nil {
			t.Fatal("the import went on")
		}
		if !permanent(err) {
			t.Errorf("err %v: want a permanent error (no retry)", err)
		}
		if !untrusted && !errors.Is(err, errNoStartTLS) {
			t.Errorf("err %v, want errNoStartTLS", err)
		}
		var cv *tls.CertificateVerificationError
		if untrusted && !errors.As(err, &cv) {
			t.Errorf("err %v, want a certificate verification error", err)
		}
		p.WaitHandshake(t)
		p.CheckNothingSent(t, o.User, pass, " LOGIN ", " AUTHENTICATE ")
		p.CheckRefusedOnce(t)
	})
}
