package imapserver

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

const (
	capsPreAuth = "IMAP4rev1 SASL-IR LITERAL- AUTH=PLAIN"
	capsAuthed  = "IMAP4rev1 SASL-IR LITERAL- UNSELECT ENABLE IDLE UTF8=ACCEPT NAMESPACE BINARY CHILDREN APPENDLIMIT=65536"
)

func TestLogin(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.xuntagged(c.transactf("OK", "CAPABILITY"), "* CAPABILITY "+capsPreAuth)
	c.transactf("BAD", "SELECT INBOX")
	c.transactf("NO", "LOGIN alice wrong")
	if c.last != "NO [AUTHENTICATIONFAILED] Authentication failed" {
		t.Fatalf("wrong password: %q", c.last)
	}
	c.transactf("NO", "LOGIN nobody %q", password)
	c.transactf("NO", "LOGIN alice %q", password+"x")
	c.transactf("OK", "LOGIN alice %q", password)
	if c.last != "OK [CAPABILITY "+capsAuthed+"] Logged in" {
		t.Fatalf("login: %q", c.last)
	}
	c.transactf("BAD", "LOGIN alice %q", password)
	c.xuntagged(c.transactf("OK", "NAMESPACE"), `* NAMESPACE (("" "/")) NIL NIL`)
	c.xuntagged(c.transactf("OK", "LOGOUT"), "* BYE Logging out")

	// AUTHENTICATE PLAIN, with an initial response and with a continuation.
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + password))
	c = dial(t, addr)
	c.transactf("OK", "AUTHENTICATE PLAIN %s", plain)
	c = dial(t, addr)
	c.write("x AUTHENTICATE PLAIN\r\n")
	if l := c.readLine(); l != "+ =" {
		t.Fatalf("continuation: %q", l)
	}
	c.write(plain + "\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "x OK ") {
		t.Fatalf("authenticate: %q", l)
	}
	c = dial(t, addr)
	c.transactf("NO", "AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("bob\x00alice\x00"+password)))
	c.transactf("NO", "AUTHENTICATE CRAM-MD5")
}

// TestLoginDelay: wrong passwords are answered ever more slowly, per
// address and per user, without slowing other clients down.
func TestLoginDelay(t *testing.T) {
	f := sharedFixture(t)
	cfg := testConfig(f)
	cfg.LoginDelay, cfg.MaxLoginDelay = 100*time.Millisecond, 800*time.Millisecond
	_, addr := startServer(t, cfg)
	c := dialFrom(t, addr, "127.0.0.9")
	var took []time.Duration
	for range 5 {
		start := time.Now()
		c.transactf("NO", "LOGIN carol wrong")
		took = append(took, time.Since(start))
	}
	t.Logf("delays: %v", took)
	for i, want := range []time.Duration{100, 200, 400, 800, 800} {
		want *= time.Millisecond
		if took[i] < want || took[i] > want+400*time.Millisecond {
			t.Errorf("attempt %d took %v, want about %v", i+1, took[i], want)
		}
	}
	// Meanwhile another client logs in at once.
	other := dialFrom(t, addr, "127.0.0.10")
	start := time.Now()
	other.login("alice")
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("an unrelated login took %v", d)
	}
	// The user's record follows it to a new address: the next wrong
	// password from elsewhere is slow too.
	c2 := dialFrom(t, addr, "127.0.0.11")
	start = time.Now()
	c2.transactf("NO", "LOGIN carol wrong")
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("a wrong password for a throttled user from a new address took %v", d)
	}
}

// testCert makes a self-signed certificate for 127.0.0.1.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailark test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestStartTLS: with TLS configured on a connection that is not allowed
// plaintext logins (as on a public address), LOGIN before STARTTLS is
// refused, and what a client pipelines after STARTTLS is dropped.
func TestStartTLS(t *testing.T) {
	f := sharedFixture(t)
	cert, pool := testCert(t)
	cfg := testConfig(f)
	cfg.PlainLoopback = false // as on a non-loopback listener
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	_, addr := startServer(t, cfg)

	c := dial(t, addr)
	c.xuntagged(c.transactf("OK", "CAPABILITY"), "* CAPABILITY IMAP4rev1 SASL-IR LITERAL- STARTTLS LOGINDISABLED")
	c.transactf("NO", "LOGIN alice %q", password)
	if c.last != "NO [PRIVACYREQUIRED] TLS is required to log in: use STARTTLS or the TLS port" {
		t.Fatalf("plaintext login: %q", c.last)
	}
	c.transactf("NO", "AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00alice\x00"+password)))
	// STARTTLS, with an injected command behind it.
	c.write("s STARTTLS\r\ninjected LOGIN alice \"" + password + "\"\r\n")
	if l := c.readLine(); l != "s OK Begin TLS negotiation now" {
		t.Fatalf("starttls: %q", l)
	}
	tc := tls.Client(c.conn, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
	c.xuntagged(c.transactf("OK", "CAPABILITY"), "* CAPABILITY "+capsPreAuth)
	c.login("alice")
	if strings.Contains(c.last, "injected") {
		t.Fatal("the injected command ran")
	}
	c.transactf("OK", "SELECT INBOX")

	// Without TLS configured, such a connection cannot log in at all.
	cfg.TLSConfig = nil
	_, addr2 := startServer(t, cfg)
	c = dial(t, addr2)
	c.xuntagged(c.transactf("OK", "CAPABILITY"), "* CAPABILITY IMAP4rev1 SASL-IR LITERAL- LOGINDISABLED")
	c.transactf("NO", "STARTTLS")
}

// TestImplicitTLS: a TLS listener allows logins from the first byte.
func TestImplicitTLS(t *testing.T) {
	f := sharedFixture(t)
	cert, pool := testCert(t)
	cfg := testConfig(f)
	cfg.PlainLoopback = false
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(ln)
	defer srv.Shutdown(t.Context())
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	if g := c.readLine(); g != "* OK [CAPABILITY "+capsPreAuth+"] IMAP server ready" {
		t.Fatalf("greeting: %q", g)
	}
	c.login("alice")
	c.transactf("OK", "LOGOUT")
}
