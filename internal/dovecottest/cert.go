package dovecottest

import (
	"fmt"
	"os"

	"github.com/mailark/mailark/internal/testcert"
)

// writeSelfSignedCert writes a fresh self-signed certificate and its key as
// PEM files. ECDSA P-256 keeps generation under a millisecond (RSA-2048 takes
// ~100 ms per server); OpenSSL 3 in Dovecot and Go's TLS both handle it.
// The SANs cover both ways a test may name the server.
func writeSelfSignedCert(certFile, keyFile string) error {
	c, err := testcert.New("mailark dovecottest")
	if err != nil {
		return fmt.Errorf("dovecottest: %w", err)
	}
	key, err := c.KeyPEM()
	if err != nil {
		return fmt.Errorf("dovecottest: %w", err)
	}
	if err := os.WriteFile(certFile, c.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("dovecottest: write certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return fmt.Errorf("dovecottest: write key: %w", err)
	}
	return nil
}
