package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/downgradetest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// TestDowngradeExport: with --tls starttls (the default), the exporter
// gives up before logging in when the server does not do STARTTLS or its
// certificate is not trusted: nothing is appended, no receipt is written.
func TestDowngradeExport(t *testing.T) {
	const pass = "downgrade secret"
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 3, 1, false))
	sel := exportertest.SelectAll(t, a)
	downgradetest.Run(t, downgradetest.IMAP, func(t *testing.T, p *downgradetest.Peer, untrusted bool) {
		// What the command builds without --tls-ca: the system roots.
		cfg, err := tlsopt.Options{Mode: tlsopt.StartTLS}.Config(p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Addr: p.Addr, TLS: tlsopt.StartTLS, TLSConfig: cfg, User: "carol", Password: pass, Logger: testLogger(t)}
		rep := &exporters.Report{}
		err = Run(context.Background(), a, sel, o, rep)
		if err == nil {
			t.Fatal("the export went on")
		}
		var cv *tls.CertificateVerificationError
		if untrusted && !errors.As(err, &cv) {
			t.Errorf("err %v, want a certificate verification error", err)
		}
		if !untrusted && !errors.Is(err, errNoStartTLS) {
			t.Errorf("err %v, want errNoStartTLS", err)
		}
		p.WaitHandshake(t)
		p.CheckNothingSent(t, o.User, pass, " LOGIN ", " AUTHENTICATE ", " APPEND ", " CREATE ")
		if tot := rep.Total(); tot.Done.Messages != 0 {
			t.Errorf("%d messages reported appended", tot.Done.Messages)
		}
		var receipts int
		if err := a.DB().QueryRow("SELECT count(*) FROM receipts").Scan(&receipts); err != nil || receipts != 0 {
			t.Errorf("receipts after a refused connection: %d (%v)", receipts, err)
		}
		p.CheckRefusedOnce(t)
	})
}
