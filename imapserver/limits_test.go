package imapserver

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestConnectionLimits: 200 idle connections from one address use up that
// address's share only; a client from another address is served.
func TestConnectionLimits(t *testing.T) {
	f := sharedFixture(t)
	cfg := testConfig(f)
	cfg.MaxPerIP, cfg.MaxConnections = 20, 30
	srv, addr := startServer(t, cfg)
	var refused, open int
	for range 200 {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 200)
		n, _ := conn.Read(buf)
		switch l := string(buf[:n]); {
		case strings.HasPrefix(l, "* OK "):
			open++
		case l == "* BYE Too many connections from your address\r\n":
			refused++
		default:
			t.Fatalf("greeting %q", l)
		}
	}
	if open != 20 || refused != 180 || srv.Connections() != 20 {
		t.Fatalf("%d open, %d refused, %d counted", open, refused, srv.Connections())
	}
	c := dialFrom(t, addr, "127.0.0.2")
	c.login("alice")
	c.transactf("OK", "SELECT INBOX")
	// The total limit holds too: 20 + 1 + 9 more from other addresses.
	for i := range 9 {
		dialFrom(t, addr, "127.0.1."+itoa(i+1))
	}
	conn, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.2.1")}}).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 100)
	n, _ := conn.Read(buf)
	if l := string(buf[:n]); l != "* BYE Too many connections\r\n" {
		t.Fatalf("over the total: %q", l)
	}
}

// TestLiteralLimits: literals over the limits are refused before they are
// read, and the connection goes on; a non-synchronizing one over 4096
// bytes (which LITERAL- forbids) ends the connection before it is read.
func TestLiteralLimits(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.write("l1 LOGIN {5000}\r\n")
	if l := c.readLine(); l != "l1 NO [TOOBIG] Literals are limited to 4096 bytes for this command" {
		t.Fatalf("big login literal: %q", l)
	}
	c.login("alice")
	c.write("a1 APPEND INBOX {100000}\r\n")
	if l := c.readLine(); l != "a1 NO [TOOBIG] Literals are limited to 65536 bytes for this command" {
		t.Fatalf("big append: %q", l)
	}
	c.transactf("OK", "NOOP")
	// A non-synchronizing literal over 4096 bytes: the client is cut off;
	// the bytes behind it are never parsed as commands.
	c.write("a2 APPEND INBOX {100000+}\r\na3 LOGOUT\r\n" + strings.Repeat("x", 5000))
	if l := c.readLine(); l != "* BYE [TOOBIG] Literal too large" {
		t.Fatalf("non-sync literal: %q", l)
	}
	c.expectClosed()
	// The server goes on.
	c = dial(t, addr)
	c.login("alice")
}

// TestCommandRate: a client flooding commands is slowed down, then
// disconnected; others are served meanwhile.
func TestCommandRate(t *testing.T) {
	f := sharedFixture(t)
	cfg := testConfig(f)
	cfg.CommandRate, cfg.CommandBurst, cfg.MaxThrottle = 100, 100, 500*time.Millisecond
	_, addr := startServer(t, cfg)
	c := dial(t, addr)
	c.login("alice")
	start := time.Now()
	go func() {
		// The server may stop reading: write from another goroutine.
		c.conn.Write([]byte(strings.Repeat("n NOOP\r\n", 5000)))
	}()
	bye := false
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			break
		}
		if l == "* BYE Too many commands\r\n" {
			bye = true
		}
	}
	if !bye {
		t.Fatal("no BYE")
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 5*time.Second {
		t.Fatalf("disconnected after %v", d)
	}
	other := dial(t, addr)
	other.login("alice")
}

// TestLoginTimeout: a client that does not log in is let go.
func TestLoginTimeout(t *testing.T) {
	f := sharedFixture(t)
	cfg := testConfig(f)
	cfg.LoginTimeout = 300 * time.Millisecond
	_, addr := startServer(t, cfg)
	c := dial(t, addr)
	c.transactf("OK", "NOOP")
	if l := c.readLine(); l != "* BYE Autologout; no login in time" {
		t.Fatalf("got %q", l)
	}
	c.expectClosed()
	c = dial(t, addr)
	c.login("alice")
	time.Sleep(500 * time.Millisecond)
	c.transactf("OK", "NOOP")
}

// TestShutdown: clients between commands, idle or in IDLE, get BYE at
// once; Shutdown returns when they are gone.
func TestShutdown(t *testing.T) {
	f := sharedFixture(t)
	srv, err := New(testConfig(f))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	a := dial(t, ln.Addr().String())
	a.login("alice")
	b := dial(t, ln.Addr().String())
	b.login("alice")
	b.transactf("OK", "SELECT INBOX")
	b.write("i IDLE\r\n")
	if l := b.readLine(); l != "+ idling" {
		t.Fatalf("idle: %q", l)
	}
	pre := dial(t, ln.Addr().String()) // not logged in
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	for _, c := range []*client{a, b, pre} {
		if l := c.readLine(); l != "* BYE Server shutting down" {
			t.Fatalf("got %q", l)
		}
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting")
	}
}
