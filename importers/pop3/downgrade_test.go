package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/downgradetest"
)

// TestDowngradeImport: with --tls starttls (the default), the POP3 importer
// gives up before USER, PASS, APOP or AUTH when the server does not offer
// STLS or its certificate is not trusted; it does not retry, and nothing is
// archived.
func TestDowngradeImport(t *testing.T) {
	const pass = "downgrade secret"
	downgradetest.Run(t, downgradetest.POP3, func(t *testing.T, p *downgradetest.Peer, untrusted bool) {
		a := archive.TestArchive(t)
		w, err := a.NewWriter(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The zero Options are the command's default: STLS, system roots.
		cfg := Config{Addr: p.Addr, User: testUser, Password: pass, Account: testAcct,
			Dial: Options{Timeout: 5 * time.Second}, RetryDelay: 10 * time.Millisecond}
		if cfg.Dial.Security != STARTTLS {
			t.Fatalf("the default security is %v", cfg.Dial.Security)
		}
		res, err := Import(context.Background(), cfg, w, &importers.Report{})
		if cerr := w.Commit(context.Background()); cerr != nil {
			t.Fatal(cerr)
		}
		if err == nil {
			t.Fatalf("the import went on: %+v", res)
		}
		var cv *tls.CertificateVerificationError
		if untrusted && !errors.As(err, &cv) {
			t.Errorf("err %v, want a certificate verification error", err)
		}
		if !untrusted && !strings.Contains(err.Error(), "STLS") {
			t.Errorf("err %v, want a refusal naming STLS", err)
		}
		p.WaitHandshake(t)
		p.CheckNothingSent(t, testUser, pass, "USER", "PASS", "APOP", "AUTH")
		p.CheckRefusedOnce(t)
		if n := len(entries(t, a)); n != 0 {
			t.Errorf("%d messages archived", n)
		}
	})
}
