package pop3test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/mailark/mailark/internal/testcert"
)

// TLSConfigs returns a server configuration with a fresh self-signed
// certificate for localhost and 127.0.0.1 (ECDSA P-256: generated in well
// under a millisecond), a client configuration that trusts it, and the
// certificate as PEM (for a --tls-ca file).
func TLSConfigs() (server, client *tls.Config, caPEM []byte, err error) {
	c, err := testcert.New("mailark pop3test")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pop3test: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{c.DER}, PrivateKey: c.Key, Leaf: c.Leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client, c.CertPEM(), nil
}
