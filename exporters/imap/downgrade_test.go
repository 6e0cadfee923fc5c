package imap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"regexp"
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

// downgradePeer plays a server (or a man in the middle) that keeps a
// STARTTLS client in plaintext: it does not offer STARTTLS and refuses it,
// or it accepts STARTTLS with a certificate the client does not trust.
// It accepts any login, so a client that went on would be seen doing so,
// and it records every byte clients send in the clear.
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

var syncLiteral = regexp.MustCompile(`\{\d+\}\r\n$`)

func (p *downgradePeer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	p.mu.Lock()
	p.conns++
	p.mu.Unlock()
	caps := "IMAP4rev1 AUTH=PLAIN"
	if p.cert != nil {
		caps += " STARTTLS"
	}
	conn.Write([]byte("* OK [CAPABILITY " + caps + "] ready\r\n"))
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		p.mu.Lock()
		p.clear.WriteString(line)
		p.mu.Unlock()
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		tag, cmd := f[0], strings.ToUpper(f[1])
		switch {
		case cmd == "CAPABILITY":
			conn.Write([]byte("* CAPABILITY " + caps + "\r\n" + tag + " OK done\r\n"))
		case cmd == "STARTTLS" && p.cert == nil:
			conn.Write([]byte(tag + " BAD unknown command\r\n"))
		case cmd == "STARTTLS":
			conn.Write([]byte(tag + " OK begin TLS\r\n"))
			err := tls.Server(conn, p.cert).Handshake()
			p.mu.Lock()
			p.handshakes = append(p.handshakes, err)
			p.mu.Unlock()
			return
		case syncLiteral.MatchString(line):
			conn.Write([]byte("+ go on\r\n"))
		default:
			conn.Write([]byte(tag + " OK fine\r\n"))
		}
	}
}

// checkNothingSent fails if a login, or the password in any form, crossed
// the connection in the clear.
func (p *downgradePeer) checkNothingSent(t *testing.T, user, pass string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	sent := p.clear.String()
	up := strings.ToUpper(sent)
	for _, bad := range []string{" LOGIN ", " AUTHENTICATE ", " APPEND ", " CREATE ", pass, base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))} {
		if strings.Contains(up, strings.ToUpper(bad)) {
			t.Errorf("the client sent %q in the clear: %q", bad, sent)
		}
	}
	if p.conns == 0 {
		t.Error("the client never connected")
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

// TestDowngradeExport: with --tls starttls (the default), the exporter
// gives up before logging in when the server does not do STARTTLS or its
// certificate is not trusted: nothing is appended, no receipt is written.
func TestDowngradeExport(t *testing.T) {
	const pass = "downgrade secret"
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 3, 1, false))
	sel := exportertest.SelectAll(t, a)
	for _, tc := range []struct {
		name      string
		untrusted bool
	}{{"not-offered", false}, {"untrusted-certificate", true}} {
		t.Run(tc.name, func(t *testing.T) {
			p := startDowngradePeer(t, tc.untrusted)
			// What the command builds without --tls-ca: the system roots.
			cfg, err := tlsopt.Options{Mode: tlsopt.StartTLS}.Config(p.addr)
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Addr: p.addr, TLS: tlsopt.StartTLS, TLSConfig: cfg, User: "carol", Password: pass, Logger: testLogger(t)}
			rep := &exporters.Report{}
			err = Run(context.Background(), a, sel, o, rep)
			if err == nil {
				t.Fatal("the export went on")
			}
			var cv *tls.CertificateVerificationError
			if tc.untrusted && !errors.As(err, &cv) {
				t.Errorf("err %v, want a certificate verification error", err)
			}
			if !tc.untrusted && !errors.Is(err, errNoStartTLS) {
				t.Errorf("err %v, want errNoStartTLS", err)
			}
			if tc.untrusted {
				p.waitHandshake(t)
			}
			p.checkNothingSent(t, o.User, pass)
			if tot := rep.Total(); tot.Done.Messages != 0 {
				t.Errorf("%d messages reported appended", tot.Done.Messages)
			}
			var receipts int
			if err := a.DB().QueryRow("SELECT count(*) FROM receipts").Scan(&receipts); err != nil || receipts != 0 {
				t.Errorf("receipts after a refused connection: %d (%v)", receipts, err)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.conns != 1 {
				t.Errorf("%d connections, want 1: a refusal is not retried", p.conns)
			}
			if tc.untrusted && (len(p.handshakes) != 1 || p.handshakes[0] == nil) {
				t.Errorf("TLS handshakes on the server side: %v, want one that failed", p.handshakes)
			}
		})
	}
}
