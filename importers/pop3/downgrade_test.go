package pop3

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
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/testcert"
)

// downgradePeer plays a POP3 server (or a man in the middle) that keeps a
// client in plaintext: it does not offer STLS and refuses it, or it
// accepts STLS with a certificate the client does not trust. It takes any
// login (and offers APOP, tempting a client to authenticate in the clear),
// and records every byte clients send in the clear.
type downgradePeer struct {
	addr string
	cert *tls.Config // nil: STLS is refused

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
	conn.Write([]byte("+OK ready <1896.697170952@downgrade.test>\r\n"))
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
		case "CAPA":
			stls := ""
			if p.cert != nil {
				stls = "STLS\r\n"
			}
			conn.Write([]byte("+OK\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n" + stls + ".\r\n"))
		case "STLS":
			if p.cert == nil {
				conn.Write([]byte("-ERR unknown command\r\n"))
				continue
			}
			conn.Write([]byte("+OK begin TLS\r\n"))
			err := tls.Server(conn, p.cert).Handshake()
			p.mu.Lock()
			p.handshakes = append(p.handshakes, err)
			p.mu.Unlock()
			return
		case "AUTH":
			conn.Write([]byte("+ \r\n"))
		case "QUIT":
			conn.Write([]byte("+OK bye\r\n"))
			return
		default:
			conn.Write([]byte("+OK\r\n"))
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

// TestDowngradeImport: with --tls starttls (the default), the POP3 importer
// gives up before USER, PASS, APOP or AUTH when the server does not offer
// STLS or its certificate is not trusted; it does not retry, and nothing is
// archived.
func TestDowngradeImport(t *testing.T) {
	const pass = "downgrade secret"
	for _, tc := range []struct {
		name      string
		untrusted bool
	}{{"not-offered", false}, {"untrusted-certificate", true}} {
		t.Run(tc.name, func(t *testing.T) {
			p := startDowngradePeer(t, tc.untrusted)
			a := archive.TestArchive(t)
			w, err := a.NewWriter(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// The zero Options are the command's default: STLS, system roots.
			cfg := Config{Addr: p.addr, User: testUser, Password: pass, Account: testAcct,
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
			if tc.untrusted && !errors.As(err, &cv) {
				t.Errorf("err %v, want a certificate verification error", err)
			}
			if !tc.untrusted && !strings.Contains(err.Error(), "STLS") {
				t.Errorf("err %v, want a refusal naming STLS", err)
			}
			if tc.untrusted {
				p.waitHandshake(t)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			sent := p.clear.String()
			for _, bad := range []string{"USER", "PASS", "APOP", "AUTH", pass, base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + pass))} {
				if strings.Contains(strings.ToUpper(sent), strings.ToUpper(bad)) {
					t.Errorf("the client sent %q in the clear: %q", bad, sent)
				}
			}
			if p.conns != 1 {
				t.Errorf("%d connections, want 1: a refusal is not retried", p.conns)
			}
			if tc.untrusted && (len(p.handshakes) != 1 || p.handshakes[0] == nil) {
				t.Errorf("TLS handshakes on the server side: %v, want one that failed", p.handshakes)
			}
			if n := len(entries(t, a)); n != 0 {
				t.Errorf("%d messages archived", n)
			}
		})
	}
}
