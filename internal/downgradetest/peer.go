// Package downgradetest is a fake server (or man in the middle) for tests
// that a STARTTLS client cannot be kept in plaintext: the Peer either does
// not offer STARTTLS and refuses it, or accepts it with a certificate the
// client does not trust. It takes any login, so a client that went on
// would be seen doing so, and it records every byte clients send in the
// clear. A Protocol (IMAP, POP3, SMTP) says how it talks.
package downgradetest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailark/mailark/internal/testcert"
)

// Protocol describes the few lines of a protocol the Peer speaks.
type Protocol struct {
	// StartTLS is the command that upgrades the connection: STARTTLS or
	// STLS.
	StartTLS string
	// Tagged: each command begins with a tag that its reply repeats (IMAP).
	// A tagged line without a command gets no reply.
	Tagged bool
	// Greeting is the server's first reply; offered says whether the Peer
	// offers StartTLS.
	Greeting func(offered bool) string
	// Capability is the command that lists the extensions (CAPABILITY,
	// CAPA, EHLO); Capabilities answers it, listing StartTLS if offered.
	Capability   string
	Capabilities func(tag string, offered bool) string
	// Refuse and Accept answer StartTLS, after the tag and without the
	// line end.
	Refuse, Accept string
	// Answer answers any other command (upper-cased, with its whole line)
	// and says whether to hang up after the reply.
	Answer func(tag, cmd, line string) (reply string, hangup bool)
}

// split returns a line's tag and upper-cased command; ok is false for a
// line to ignore.
func (pr *Protocol) split(line string) (tag, cmd string, ok bool) {
	if !pr.Tagged {
		cmd, _, _ = strings.Cut(strings.TrimSpace(line), " ")
		return "", strings.ToUpper(cmd), true
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", "", false
	}
	return f[0], strings.ToUpper(f[1]), true
}

// reply is the line that answers StartTLS with text.
func (pr *Protocol) reply(tag, text string) string {
	if pr.Tagged {
		return tag + " " + text + "\r\n"
	}
	return text + "\r\n"
}

// Peer is a listening downgrade server. Its methods may be called while
// clients are connected.
type Peer struct {
	Addr string // host:port to dial

	proto Protocol
	cert  *tls.Config // nil: StartTLS is neither offered nor accepted

	mu         sync.Mutex
	clear      bytes.Buffer
	conns      int
	handshakes []error
}

// Start starts a Peer that speaks proto until the end of the test. If
// untrusted, it offers and accepts StartTLS with a fresh self-signed
// certificate; otherwise it neither offers nor accepts StartTLS.
func Start(t testing.TB, proto Protocol, untrusted bool) *Peer {
	t.Helper()
	p := &Peer{proto: proto}
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
	p.Addr = ln.Addr().String()
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

func (p *Peer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	p.mu.Lock()
	p.conns++
	p.mu.Unlock()
	pr, offered := &p.proto, p.cert != nil
	io.WriteString(conn, pr.Greeting(offered))
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		p.mu.Lock()
		p.clear.WriteString(line)
		p.mu.Unlock()
		if err != nil {
			return
		}
		tag, cmd, ok := pr.split(line)
		if !ok {
			continue
		}
		switch {
		case cmd == pr.Capability:
			io.WriteString(conn, pr.Capabilities(tag, offered))
		case cmd == pr.StartTLS && !offered:
			io.WriteString(conn, pr.reply(tag, pr.Refuse))
		case cmd == pr.StartTLS:
			io.WriteString(conn, pr.reply(tag, pr.Accept))
			err := tls.Server(conn, p.cert).Handshake()
			p.mu.Lock()
			p.handshakes = append(p.handshakes, err)
			p.mu.Unlock()
			return
		default:
			reply, hangup := pr.Answer(tag, cmd, line)
			io.WriteString(conn, reply)
			if hangup {
				return
			}
		}
	}
}

// Conns returns how many connections the Peer has accepted.
func (p *Peer) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// Handshakes returns the results of the server side of the TLS handshakes
// so far.
func (p *Peer) Handshakes() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.handshakes...)
}

// Clear returns all that clients have sent in the clear.
func (p *Peer) Clear() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clear.String()
}

// WaitHandshake waits for the server side of a TLS handshake to end, if
// the Peer accepts StartTLS: the client may return before the Peer has
// seen its alert.
func (p *Peer) WaitHandshake(t testing.TB) {
	t.Helper()
	if p.cert == nil {
		return
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(p.Handshakes()) > 0 {
			return
		}
	}
	t.Error("no TLS handshake ended on the server side")
}

// CheckNothingSent fails t if any of commands, the password, or the
// password as SASL PLAIN for user crossed the connection in the clear
// (compared without regard to case), or if no client connected.
func (p *Peer) CheckNothingSent(t testing.TB, user, pass string, commands ...string) {
	t.Helper()
	sent := p.Clear()
	up := strings.ToUpper(sent)
	bad := append(commands[:len(commands):len(commands)], pass, base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)))
	for _, b := range bad {
		if strings.Contains(up, strings.ToUpper(b)) {
			t.Errorf("the client sent %q in the clear: %q", b, sent)
		}
	}
	if p.Conns() == 0 {
		t.Error("the client never connected")
	}
}

// CheckRefusedOnce fails t unless exactly one client connected (a refusal
// is not retried) and, if the Peer accepts StartTLS, exactly one TLS
// handshake ended, in failure.
func (p *Peer) CheckRefusedOnce(t testing.TB) {
	t.Helper()
	if n := p.Conns(); n != 1 {
		t.Errorf("%d connections, want 1: a refusal is not retried", n)
	}
	if hs := p.Handshakes(); p.cert != nil && (len(hs) != 1 || hs[0] == nil) {
		t.Errorf("TLS handshakes on the server side: %v, want one that failed", hs)
	}
}

// Run runs f as the subtests "not-offered" and "untrusted-certificate",
// each with a fresh Peer that speaks proto (see Start).
func Run(t *testing.T, proto Protocol, f func(t *testing.T, p *Peer, untrusted bool)) {
	t.Helper()
	for _, tc := range []struct {
		name      string
		untrusted bool
	}{{"not-offered", false}, {"untrusted-certificate", true}} {
		t.Run(tc.name, func(t *testing.T) { f(t, Start(t, proto, tc.untrusted), tc.untrusted) })
	}
}
