package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/downgradetest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// TestDowngradeExport: with --tls starttls (the default), the SMTP
// exporter stops before AUTH or MAIL when the server does not offer
// STARTTLS or its certificate is not trusted: the run fails (naming the
// certificate, with or without AUTH), no message is sent and no receipt
// written.
func TestDowngradeExport(t *testing.T) {
	const pass = "downgrade secret"
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 3, 1, false))
	sel := exportertest.SelectAll(t, a)
	for _, tc := range []struct {
		name      string
		untrusted bool
		user      string // "": no AUTH, the first command over TLS is MAIL
	}{{"not-offered", false, "u"}, {"untrusted-certificate", true, "u"}, {"untrusted-certificate-no-auth", true, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			p := downgradetest.Start(t, downgradetest.SMTP, tc.untrusted)
			// What the command builds without --tls-ca: the system roots.
			cfg, err := tlsopt.Options{Mode: tlsopt.StartTLS}.Config(p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Addr: p.Addr, TLS: tlsopt.StartTLS, TLSConfig: cfg, User: tc.user, Password: pass,
				From: "exporter@example.org", To: []string{"archive@example.org"}, Backoff: time.Millisecond}
			rep := &exporters.Report{}
			err = Run(context.Background(), a, sel, o, rep)
			if !errors.Is(err, errFatal) {
				t.Fatalf("err %v, want the run to stop", err)
			}
			var cv *tls.CertificateVerificationError
			if tc.untrusted && !errors.As(err, &cv) {
				t.Errorf("err %v, want a certificate verification error", err)
			}
			if !tc.untrusted && !strings.Contains(err.Error(), "STARTTLS") {
				t.Errorf("err %v, want one naming STARTTLS", err)
			}
			if tot := rep.Total(); tot.Done.Messages != 0 {
				t.Errorf("%d messages reported sent", tot.Done.Messages)
			}
			var receipts int
			if err := a.DB().QueryRow("SELECT count(*) FROM receipts").Scan(&receipts); err != nil || receipts != 0 {
				t.Errorf("receipts after a refused connection: %d (%v)", receipts, err)
			}
			p.WaitHandshake(t)
			// The PLAIN encoding is checked for user "u" even without AUTH.
			p.CheckNothingSent(t, "u", pass, "AUTH", "MAIL FROM", "RCPT TO", "DATA")
			p.CheckRefusedOnce(t)
		})
	}
}
