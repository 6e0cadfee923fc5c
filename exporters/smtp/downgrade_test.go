package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/testcert"
	"github.com/mailark/mailark/internal/tlsopt"
)

// downgradePeer plays an SMTP server (or a man in the middle) that keeps a
// client in plaintext: it does not offer STARTTLS and refuses it, or it
// accepts STARTTLS with a certificate the client does not trust. It offers
// AUTH PLAIN and LOGIN, accepts everything, and records every byte
// clients send in the clear.
type downgradePeer struct {
	addr string
	cert *tls.Config // nil: STARTTLS is refused

	mu         sync.Mutex
	clear      bytes.Buffer
	conns      int
	handshakes []error
}

func startDowngradePeer(t *testing.T, untrusted bool) *downgradePeer {
	t.Helper()
	p := &downgradePeer{}
	if untrusted {
		c, err := testcert.New("downgrade test")
		if err != nil {
			t.Fatal(err)
		}
		p.cert = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{c.DER}, PrivateKey: c.Key}}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p.addr = ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(conn)
		}
	}()
	return p
}

func (p *downgradePeer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	p.mu.Lock()
	p.conns++
	p.mu.Unlock()
	conn.Write([]byte("220 downgrade.test ESMTP\r\n"))
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		p.mu.Lock()
		p.clear.WriteString(line)
		p.mu.Unlock()
		if err != nil {
			return
		}
		cmd, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(cmd) {
		case "EHLO":
			stls := ""
			if p.cert != nil {
				stls = "250-STARTTLS\r\n"
			}
			conn.Write([]byte("250-downgrade.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n" + stls + "250 SIZE 10000000\r\n"))
		case "STARTTLS":
			if p.cert == nil {
				conn.Write([]byte("502 5.5.1 unknown command\r\n"))
				continue
			}
			conn.Write([]byte("220 2.0.0 go ahead\r\n"))
			err := tls.Server(conn, p.cert).Handshake()
			p.mu.Lock()
			p.handshakes = append(p.handshakes, err)
			p.mu.Unlock()
			return
		case "AUTH":
			conn.Write([]byte("235 2.7.0 ok\r\n"))
		case "DATA":
			conn.Write([]byte("354 go on\r\n"))
		case "QUIT":
			conn.Write([]byte("221 bye\r\n"))
			return
		default:
			conn.Write([]byte("250 ok\r\n"))
		}
	}
}

// waitHandshake waits for the server side of a TLS handshake to end: the
// client may return before the peer has seen its alert.
func (p *downgradePeer) waitHandshake(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		n := len(p.handshakes)
		p.mu.Unlock()
		if n > 0 {
			return
		}
	}
	t.Error("no TLS handshake ended on the server side")
}

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
			p := startDowngradePeer(t, tc.untrusted)
			// What the command builds without --tls-ca: the system roots.
			cfg, err := tlsopt.Options{Mode: tlsopt.StartTLS}.Config(p.addr)
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Addr: p.addr, TLS: tlsopt.StartTLS, TLSConfig: cfg, User: tc.user, Password: pass,
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
			if tc.untrusted {
				p.waitHandshake(t)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			sent := p.clear.String()
			for _, bad := range []string{"AUTH", "MAIL FROM", "RCPT TO", "DATA", pass, base64.StdEncoding.EncodeToString([]byte("\x00u\x00" + pass))} {
				if strings.Contains(strings.ToUpper(sent), strings.ToUpper(bad)) {
					t.Errorf("the client sent %q in the clear: %q", bad, sent)
				}
			}
			if tc.untrusted && (p.conns != 1 || len(p.handshakes) != 1 || p.handshakes[0] == nil) {
				t.Errorf("%d connections, handshakes %v: want one that failed, not retried", p.conns, p.handshakes)
			}
		})
	}
}
