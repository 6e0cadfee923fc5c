package imapserver

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The security suite: what isolation_test.go, readonly_test.go,
// limits_test.go and login_test.go leave out of the attacks on the server.

// TestSecurityFolderNameTricks: alice, mapped to "work", tries to reach
// "home" by names that a careless decoder could map onto it: modified
// UTF-7 encodings of ".", "/" and of the name itself, malformed modified
// UTF-7, and UTF-8 look-alikes. Every STATUS, SELECT and EXAMINE is NO,
// and no LIST pattern shows a folder beyond those of "work".
func TestSecurityFolderNameTricks(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	p := newProber(t, addr, "alice")
	own, _ := p.try(`LIST "" "*"`)
	if len(own) == 0 || strings.Contains(strings.Join(own, "\n"), "Private") {
		t.Fatalf("alice's folders: %q", own)
	}
	// A control: the probe can succeed.
	if u, st := p.try("STATUS Tests (MESSAGES)"); !strings.HasPrefix(st, "OK") || len(u) != 1 {
		t.Fatalf("STATUS Tests: %q %s", u, st)
	}
	for _, name := range []string{
		"&AC4-&AC4-/home/INBOX",                    // "." "." as separate runs
		"&AC4-&AC4-&AC8-home&AC8-INBOX",            // "../home/INBOX" with "/" encoded
		"home&AC8-INBOX",                           // "home/INBOX" with "/" encoded
		"&AGgAbwBtAGU-/INBOX",                      // "home" encoded (non-canonical)
		"&AGg-ome/INBOX",                           // one letter encoded
		"&AFw-home/INBOX", "..&AFw-home&AFw-INBOX", // backslash
		"Private&AC8-Deep", "&AFA-rivate/Deep",
		"&", "&-home/INBOX", "&AC4", "&AC4ALg", "&Jjo", // unterminated or odd
		"&AAA-home/INBOX", "home&AAA-/INBOX", // NUL
		"&2D3eAA-", "&2D0-/home", "&3gA-", // lone or reversed surrogates
		"&AAAAAAAAAAAAAAAA-/home", "&-&-&-/home", "&ZeVnLIqe-", // overlong, empty runs, unknown CJK
		"&AC4-", "&AC4ALg-", "&AC8-", "&AC8-home", // ".", "..", "/", "/home"
		"\u0068ome/INBOX",      // plain, for reference: must be NO too
		"ho\u0301me/INBOX",     // combining accent
		"ｈｏｍｅ/INBOX",           // fullwidth
		"home\uff0fINBOX",      // fullwidth slash
		"\u202ehome/INBOX",     // right-to-left override
		"Privat\u00e9/Deep",    // precomposed é
		"home/INBOX\u0000",     // NUL in UTF-8 form
		"home/../home/INBOX/.", // dot segments
		"home/./INBOX", "home//INBOX", "./home/INBOX", "home/INBOX/..",
		"%", "*", "home/*", "home/%", // patterns are not names
	} {
		for _, cmd := range []string{"STATUS %s (MESSAGES UIDNEXT)", "SELECT %s", "EXAMINE %s"} {
			if u, st := p.try(cmd, quote(name)); strings.HasPrefix(st, "OK") || len(u) > 0 {
				t.Errorf("%s %q: %q %s", strings.Fields(cmd)[0], name, u, st)
			}
		}
	}
	for _, ref := range []string{"", "home/", "..", "&AC4ALg-/"} {
		for _, pat := range []string{
			"*", "%", "%/%", "%/*", "home/*", "home/%", "home*", "*/INBOX", "*/Deep", "Private/*",
			"&AGgAbwBtAGU-*", "home&AC8-*", "&AC4ALg-/*", "../*", "..%", "*..*", "ho*me/*", "h%/I%",
			"*\u0000*", "ｈｏｍｅ/*",
		} {
			verbs := []string{"LIST"}
			if ref == "" {
				verbs = append(verbs, "LSUB") // the same matching: once is enough
			}
			for _, verb := range verbs {
				u, _ := p.try("%s %s %s", verb, quote(ref), quote(pat))
				for _, l := range u {
					if !slices.Contains(own, strings.Replace(l, "* LSUB", "* LIST", 1)) {
						t.Errorf("%s %q %q: %s", verb, ref, pat, l)
					}
				}
			}
		}
	}
	c := dial(t, addr)
	c.login("alice")
	// The folders alice can open have only work's messages, whatever the
	// UID or sequence number asked for.
	c.transactf("OK", "SELECT Tests")
	for _, cmd := range []string{
		"UID FETCH 3:4294967295 BODY.PEEK[]", "UID FETCH 4294967295 BODY.PEEK[]", "UID FETCH 3,5,100 BODY.PEEK[]",
		"FETCH 3 BODY.PEEK[]", "FETCH 4294967295 BODY.PEEK[]", "FETCH 0 BODY.PEEK[]", "UID COPY 1:* home/INBOX",
	} {
		if u := c.command("%s", cmd); len(u) > 0 {
			t.Errorf("%s: %q (%s)", cmd, u, c.last)
		}
	}
	c.xuntagged(c.transactf("OK", "UID SEARCH UID 3:4294967295"), "* SEARCH")
	// "n:*" with n past the end is the last message (RFC 3501 §6.4.8):
	// this folder's, never another's.
	u := c.transactf("OK", "UID FETCH 100:* BODY.PEEK[]")
	if len(u) != 1 || !strings.Contains(u[0], "Subject: multi") {
		t.Errorf("UID FETCH 100:*: %q", u)
	}
	all := strings.Join(c.transactf("OK", "FETCH 1:* BODY.PEEK[]"), "\n")
	for _, w := range []string{"wombat", "secret stuff"} { // home's bodies
		if strings.Contains(all, w) {
			t.Errorf("a message of home (%q) in work/Tests", w)
		}
	}
}

// prober sends commands as one user and takes a connection the server
// ends as a refusal: go-imap drops a client whose command it cannot parse
// to the end (a literal LIST pattern that is not modified UTF-7, an
// invalid one in CREATE), which is a refusal too. It then reconnects,
// logs in and selects again.
type prober struct {
	t               *testing.T
	addr, user, sel string
	c               *client
}

func newProber(t *testing.T, addr, user string) *prober {
	p := &prober{t: t, addr: addr, user: user}
	p.connect()
	return p
}

func (p *prober) connect() {
	p.c = dial(p.t, p.addr)
	p.c.login(p.user)
	if p.sel != "" {
		p.c.transactf("OK", "SELECT %s", p.sel)
	}
}

// try runs a command; status is the tagged response without its tag, or
// "closed".
func (p *prober) try(format string, args ...any) (untagged []string, status string) {
	p.t.Helper()
	c := p.c
	c.tag++
	tag := "t" + itoa(c.tag)
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, tag+" "+fmt.Sprintf(format, args...)+"\r\n"); err != nil {
		p.connect()
		return nil, "closed"
	}
	for {
		var b strings.Builder
		for {
			line, err := c.br.ReadString('\n')
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					p.t.Fatalf("%s: no answer", fmt.Sprintf(format, args...))
				}
				p.connect()
				return untagged, "closed"
			}
			b.WriteString(line)
			m := literalRE.FindStringSubmatch(line)
			if m == nil {
				break
			}
			n, _ := strconv.Atoi(m[1])
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.br, buf); err != nil {
				p.connect()
				return untagged, "closed"
			}
			b.Write(buf)
		}
		l := strings.TrimSuffix(b.String(), "\r\n")
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

// archiveHash hashes every file of the archive (names, modes, sizes,
// mtimes and bytes; SQLite's shared-memory index, which readers write,
// left out), with the catalog rows of snapshot.
func archiveHash(t *testing.T, f *fixture) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(f.arch.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, "-shm") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		io.WriteString(h, p+"\x00"+fi.Mode().String()+"\x00"+fi.ModTime().String()+"\x00")
		if !fi.Mode().IsRegular() {
			return nil
		}
		fh, err := os.Open(p)
		if err != nil {
			return err
		}
		defer fh.Close()
		_, err = io.Copy(h, fh)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(h, snapshot(t, f))
	return hex.EncodeToString(h.Sum(nil))
}

// TestSecurityWritesChangeNothing: alice (one account) tries every write,
// on her own folders and towards the other account's, through names,
// "..", and both kinds of APPEND literal. Each is refused, and not a byte
// of the archive directory changes.
func TestSecurityWritesChangeNothing(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	before := archiveHash(t, f)
	p := newProber(t, addr, "alice")
	for _, cmd := range []string{
		"CREATE New", "CREATE ../home/New", "CREATE home/INBOX/New", "CREATE &AC4ALg-/home/x", "CREATE Tests/Sub",
		"DELETE Tests", "DELETE INBOX", "DELETE home/INBOX", "DELETE ../home/INBOX", "DELETE Private/Deep",
		"RENAME Tests Other", "RENAME Tests ../home/Tests", "RENAME home/INBOX Stolen", "RENAME INBOX ../../x",
		`APPEND INBOX (\Seen) {10+}` + "\r\nSubject: x", "APPEND ../home/INBOX {10+}\r\nSubject: x",
		"APPEND home/INBOX {10+}\r\nSubject: x",
	} {
		if _, st := p.try("%s", cmd); !strings.HasPrefix(st, "NO ") && !strings.HasPrefix(st, "BAD ") && st != "closed" {
			t.Errorf("%s: %q", strings.SplitN(cmd, "\r\n", 2)[0], st)
		}
	}
	p.sel = "Tests"
	p.c.transactf("OK", "SELECT Tests")
	for _, cmd := range []string{
		`STORE 1:* +FLAGS (\Deleted \Seen)`, `STORE 1 FLAGS.SILENT ($Junk)`, `UID STORE 1:* -FLAGS (\Flagged)`,
		"COPY 1:* INBOX", "COPY 1 home/INBOX", "UID COPY 1:* ../home/INBOX",
		"MOVE 1 INBOX", "UID MOVE 1:* home/INBOX", "EXPUNGE", "UID EXPUNGE 1:*",
	} {
		if _, st := p.try("%s", cmd); !strings.HasPrefix(st, "NO ") && !strings.HasPrefix(st, "BAD ") && st != "closed" {
			t.Errorf("%s: %q", cmd, st)
		}
	}
	c := p.c
	// A synchronizing APPEND literal is read and thrown away.
	c.write("s APPEND Tests {20}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("append: %q", l)
	}
	c.write("Subject: stored?\r\n\r\n\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "s NO ") {
		t.Fatalf("append: %q", l)
	}
	// CLOSE expunges nothing; the flags are as they were.
	c.transactf("OK", "CLOSE")
	c.transactf("OK", "EXAMINE Tests")
	c.xuntagged(c.transactf("OK", "FETCH 1:* (FLAGS)"),
		`* 1 FETCH (UID 1 FLAGS ($Label1 \Seen))`, `* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	c.transactf("OK", "LOGOUT")
	if after := archiveHash(t, f); after != before {
		t.Fatal("the archive directory changed")
	}
}

// TestSecurityConnectionExhaustion: clients that connect and never log in
// (silent, or trickling a command a byte at a time) fill the server; a
// new client is refused with a clean BYE, not left hanging; the login
// timeout frees the slots, and the next client is served.
func TestSecurityConnectionExhaustion(t *testing.T) {
	f := sharedFixture(t)
	cfg := testConfig(f)
	cfg.MaxConnections, cfg.MaxPerIP, cfg.LoginTimeout = 8, 8, 700*time.Millisecond
	srv, addr := startServer(t, cfg)
	var hogs []*client
	for i := range 8 {
		hogs = append(hogs, dialFrom(t, addr, "127.0.4."+itoa(i+1)))
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// A slow-loris: a command that never ends, one byte at a time.
		for _, b := range []byte("a LOGIN alice \"") {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			hogs[0].conn.Write([]byte{b})
		}
	}()
	// Refused cleanly: a BYE, then the end of the connection.
	late := dialRaw(t, addr, "127.0.5.1")
	if l := late.line(); l != "* BYE Too many connections" {
		t.Fatalf("over the limit: %q", l)
	}
	late.closed()
	// Each hog is let go at the login timeout, the trickler too.
	for i, h := range hogs {
		if l := h.readLine(); l != "* BYE Autologout; no login in time" {
			t.Fatalf("hog %d: %q", i, l)
		}
		h.expectClosed()
	}
	for deadline := time.Now().Add(5 * time.Second); srv.Connections() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections left", srv.Connections())
		}
	}
	c := dialFrom(t, addr, "127.0.5.1")
	c.login("alice")
	c.transactf("OK", "SELECT INBOX")
}

// rawConn reads a server that may refuse at once (no greeting).
type rawConn struct {
	t    *testing.T
	conn net.Conn
}

func dialRaw(t *testing.T, addr, local string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn}
}

// line reads one line.
func (r *rawConn) line() string {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 1)
	var l []byte
	for !strings.HasSuffix(string(l), "\r\n") {
		if _, err := r.conn.Read(b); err != nil {
			r.t.Fatalf("reading: %v (so far %q)", err, l)
		}
		l = append(l, b[0])
	}
	return strings.TrimSuffix(string(l), "\r\n")
}

// closed checks that the server ends the connection without more to say.
func (r *rawConn) closed() {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := r.conn.Read(make([]byte, 100))
	if err == nil || n > 0 {
		r.t.Fatalf("after BYE: %d bytes, %v", n, err)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.t.Fatal("connection still open after BYE")
	}
}

// TestSecurityLiteralsRefusedUnread: literals over the limits, in every
// state and with sizes that overflow, are answered without a continuation
// request, so a client never sends them; non-synchronizing ones end the
// connection before a byte of them is taken as a command.
func TestSecurityLiteralsRefusedUnread(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	for _, cmd := range []string{
		"LOGIN {4097}", "LOGIN alice {4097}", "AUTHENTICATE PLAIN {5000}",
		"LOGIN {18446744073709551616}", "LOGIN {99999999999999999999999}",
	} {
		c.write("p " + cmd + "\r\n")
		if l := c.readLine(); !strings.HasPrefix(l, "p NO ") && !strings.HasPrefix(l, "p BAD ") {
			t.Fatalf("%s: %q, want a refusal (no continuation)", cmd, l)
		}
	}
	c.login("alice")
	c.transactf("OK", "SELECT INBOX")
	for _, cmd := range []string{
		"SEARCH TEXT {100000}", "SEARCH HEADER Subject {65537}", "APPEND INBOX {65537}",
		"APPEND INBOX {4294967296}", "STATUS {5000}", "LIST \"\" {70000}",
	} {
		c.write("q " + cmd + "\r\n")
		if l := c.readLine(); !strings.HasPrefix(l, "q NO ") && !strings.HasPrefix(l, "q BAD ") {
			t.Fatalf("%s: %q, want a refusal (no continuation)", cmd, l)
		}
	}
	c.transactf("OK", "NOOP")
	// Before login, a non-synchronizing literal over 4096 bytes ends the
	// connection; the command hidden in it is never run.
	c = dial(t, addr)
	c.write("n LOGIN alice {5000+}\r\n" + "x LOGIN alice \"" + password + "\"\r\n" + strings.Repeat("y", 5000))
	if l := c.readLine(); l != "* BYE [TOOBIG] Literal too large" {
		t.Fatalf("non-sync literal: %q", l)
	}
	c.expectClosed()
}

// TestSecurityBruteForce: failed logins from one address get slower and
// slower, whether the attacker reconnects for each guess, changes the
// user name, or switches to AUTHENTICATE PLAIN. Only lower bounds are
// checked: a loaded machine can make a delay longer, never shorter.
func TestSecurityBruteForce(t *testing.T) {
	f := sharedFixture(t)
	cfg := testConfig(f)
	cfg.LoginDelay, cfg.MaxLoginDelay = 40*time.Millisecond, 320*time.Millisecond
	_, addr := startServer(t, cfg)
	var took []time.Duration
	for i, user := range []string{"carol", "bob", "dave", "carol", "bob"} {
		c := dialFrom(t, addr, "127.0.6.1")
		start := time.Now()
		if i%2 == 0 {
			c.transactf("NO", "LOGIN %s wrong", user)
		} else {
			c.transactf("NO", "AUTHENTICATE PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00wrong")))
		}
		took = append(took, time.Since(start))
		c.conn.Close()
	}
	t.Logf("delays: %v", took)
	for i, min := range []time.Duration{40, 80, 160, 320, 320} {
		if min *= time.Millisecond; took[i] < min {
			t.Errorf("guess %d took %v, want at least %v", i+1, took[i], min)
		}
	}
	// An attacker who does not wait for the answer gains nothing: a guess
	// sent and abandoned still holds the next attempt from that address,
	// even with the right password, until its delay has run out.
	c := dialFrom(t, addr, "127.0.6.1")
	c.write("g LOGIN carol wrong\r\n")
	time.Sleep(200 * time.Millisecond) // the guess is checked meanwhile
	c.conn.Close()
	c = dialFrom(t, addr, "127.0.6.1")
	start := time.Now()
	c.login("alice")
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("a login right after an abandoned guess took %v, want it held (320 ms from the guess)", d)
	}
}

// nonLoopback returns an IPv4 address of this host that is not loopback.
func nonLoopback(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil && !ipn.IP.IsLinkLocalUnicast() {
			return ipn.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return ""
}

// TestSecurityPlaintextOnNonLoopback: with the server's defaults
// (PlainLoopback on), a listener on a non-loopback address refuses
// passwords without TLS: LOGINDISABLED and no AUTH=PLAIN are announced,
// LOGIN and AUTHENTICATE (with an initial response or without, when no
// continuation may be asked for the password) are refused with the right
// password; with TLS configured, STARTTLS is offered and still nothing
// authenticates before it.
func TestSecurityPlaintextOnNonLoopback(t *testing.T) {
	f := sharedFixture(t)
	ip := nonLoopback(t)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + password))
	listen := func(cfg Config) string {
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Shutdown(t.Context()) })
		return ln.Addr().String()
	}
	refuses := func(c *client, caps string) {
		t.Helper()
		c.xuntagged(c.transactf("OK", "CAPABILITY"), "* CAPABILITY "+caps)
		c.transactf("NO", "LOGIN alice %q", password)
		c.transactf("NO", "AUTHENTICATE PLAIN %s", plain)
		c.write("x AUTHENTICATE PLAIN\r\n")
		if l := c.readLine(); !strings.HasPrefix(l, "x NO [PRIVACYREQUIRED] ") {
			t.Fatalf("AUTHENTICATE without an initial response: %q (a continuation would ask for the password in clear)", l)
		}
		c.transactf("BAD", "SELECT INBOX") // not authenticated
	}
	cfg := testConfig(f)
	if !cfg.PlainLoopback {
		t.Fatal("the test configuration should allow plaintext on loopback, as serve does")
	}
	refuses(dial(t, listen(cfg)), "IMAP4rev1 SASL-IR LITERAL- LOGINDISABLED")

	cert, pool := testCert(t)
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	addr := listen(cfg)
	refuses(dial(t, addr), "IMAP4rev1 SASL-IR LITERAL- STARTTLS LOGINDISABLED")
	// The same server takes the password once TLS is up.
	c := dial(t, addr)
	c.transactf("OK", "STARTTLS")
	tc := tls.Client(c.conn, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.br = tc, bufio.NewReader(tc)
	c.login("alice")
}
