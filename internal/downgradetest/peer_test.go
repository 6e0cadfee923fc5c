package downgradetest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// errs collects what a check reports instead of failing the test.
type errs struct {
	testing.TB
	got []string
}

func (e *errs) Helper()                   {}
func (e *errs) Error(a ...any)            { e.got = append(e.got, fmt.Sprint(a...)) }
func (e *errs) Errorf(f string, a ...any) { e.got = append(e.got, fmt.Sprintf(f, a...)) }
func (e *errs) check(t *testing.T, want int) {
	t.Helper()
	if len(e.got) != want {
		t.Errorf("check reported %q, want %d errors", e.got, want)
	}
}

// TestPeer drives each Protocol with a raw client: the capabilities list
// StartTLS only when the Peer accepts it, a refusal keeps the connection
// in the clear, and an accepted StartTLS ends in a handshake the client
// (trusting no test certificate) fails.
func TestPeer(t *testing.T) {
	for _, tc := range []struct {
		name             string
		proto            Protocol
		capa, stls, auth string // client lines, without the line end
	}{
		{"imap", IMAP, "a CAPABILITY", "b STARTTLS", "c LOGIN u pw"},
		{"pop3", POP3, "CAPA", "STLS", "PASS pw"},
		{"smtp", SMTP, "EHLO me", "STARTTLS", "AUTH PLAIN AHUAcHc="},
	} {
		for _, untrusted := range []bool{false, true} {
			t.Run(fmt.Sprint(tc.name, "/untrusted=", untrusted), func(t *testing.T) {
				p := Start(t, tc.proto, untrusted)
				conn, err := net.Dial("tcp", p.Addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(conn)
				// expect reads the reply the Peer owes to line (or, if "",
				// the greeting) and checks it is the Protocol's.
				expect := func(line string) string {
					t.Helper()
					want := tc.proto.Greeting(untrusted)
					if line != "" {
						fmt.Fprintf(conn, "%s\r\n", line)
						tag, cmd, _ := tc.proto.split(line)
						switch {
						case cmd == tc.proto.Capability:
							want = tc.proto.Capabilities(tag, untrusted)
						case cmd == tc.proto.StartTLS && untrusted:
							want = tc.proto.reply(tag, tc.proto.Accept)
						case cmd == tc.proto.StartTLS:
							want = tc.proto.reply(tag, tc.proto.Refuse)
						default:
							want, _ = tc.proto.Answer(tag, cmd, line+"\r\n")
						}
					}
					got := make([]byte, len(want))
					if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
						t.Fatalf("%q answered %q (%v), want %q", line, got, err, want)
					}
					return want
				}
				expect("")
				if caps := expect(tc.capa); strings.Contains(caps, tc.proto.StartTLS) != untrusted {
					t.Errorf("capabilities %q: want %s listed: %v", caps, tc.proto.StartTLS, untrusted)
				}
				expect(tc.stls)
				if !untrusted {
					e := &errs{TB: t}
					p.CheckNothingSent(e, "u", "pw")
					e.check(t, 0)
					expect(tc.auth)
					e = &errs{TB: t}
					p.CheckNothingSent(e, "u", "pw", strings.Fields(tc.auth)[0])
					e.check(t, 2) // the command and the password
				} else {
					if err := tls.Client(conn, &tls.Config{ServerName: "localhost"}).Handshake(); err == nil {
						t.Error("the client trusted the test certificate")
					}
					p.WaitHandshake(t)
					p.CheckNothingSent(t, "u", "pw")
				}
				p.CheckRefusedOnce(t)
				if !strings.HasPrefix(p.Clear(), tc.capa+"\r\n"+tc.stls+"\r\n") {
					t.Errorf("recorded %q", p.Clear())
				}
			})
		}
	}
}

// TestCheckNothingSentPlain: the password as SASL PLAIN is caught, and a
// Peer nobody dialled is reported.
func TestCheckNothingSentPlain(t *testing.T) {
	p := Start(t, SMTP, false)
	e := &errs{TB: t}
	p.CheckNothingSent(e, "u", "pw")
	e.check(t, 1)
	p.clear.WriteString("AUTH PLAIN AHUAcHc=\r\n") // "\x00u\x00pw"
	p.conns = 1
	e = &errs{TB: t}
	p.CheckNothingSent(e, "u", "pw")
	e.check(t, 1)
}
