package imapdial

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailark/mailark/internal/downgradetest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// Open sorts a server that will not do STARTTLS into ErrNoStartTLS, so
// callers can stop instead of retrying, and reads the greeting in
// plaintext mode.
func TestOpen(t *testing.T) {
	p := downgradetest.Start(t, downgradetest.IMAP, false)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if _, err := Open(context.Background(), dial(), tlsopt.StartTLS, p.Addr, &imapclient.Options{}); !errors.Is(err, ErrNoStartTLS) {
		t.Errorf("STARTTLS not offered: err %v, want ErrNoStartTLS", err)
	}
	c, err := Open(context.Background(), dial(), tlsopt.None, p.Addr, &imapclient.Options{})
	if err != nil {
		t.Fatalf("plaintext: %v", err)
	}
	c.Close()
	if _, err := Open(context.Background(), dial(), "bogus", p.Addr, &imapclient.Options{}); err == nil {
		t.Error("an unknown TLS mode was accepted")
	}
}
