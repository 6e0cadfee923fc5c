package pop3test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// dialogue is a raw client: the server is tested on the wire, without the
// project's client (whose tests use this server).
type dialogue struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dial(t *testing.T, addr string) *dialogue {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	d := &dialogue{t: t, conn: conn, br: bufio.NewReader(conn)}
	if l := d.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("greeting %q", l)
	}
	return d
}

func (d *dialogue) line() string {
	d.t.Helper()
	l, err := d.br.ReadString('\n')
	if err != nil {
		d.t.Fatalf("reading: %v", err)
	}
	return l
}

// do sends a command and returns the first line of the answer.
func (d *dialogue) do(cmd string) string {
	d.t.Helper()
	if _, err := d.conn.Write([]byte(cmd + "\r\n")); err != nil {
		d.t.Fatal(err)
	}
	return d.line()
}

// multi returns the rest of a multi-line answer, raw, terminator included.
func (d *dialogue) multi() string {
	d.t.Helper()
	var b strings.Builder
	for {
		l := d.line()
		b.WriteString(l)
		if l == ".\r\n" {
			return b.String()
		}
	}
}

func (d *dialogue) login(user, pass string) {
	d.t.Helper()
	d.do("USER " + user)
	if l := d.do("PASS " + pass); !strings.HasPrefix(l, "+OK") {
		d.t.Fatalf("PASS: %q", l)
	}
}

func TestStuffingAndSizes(t *testing.T) {
	msgs := []Message{
		{Data: []byte("a\r\n.\r\n..\r\n.x\r\nend\r\n")},
		{Data: []byte("no final newline")},
		{Data: []byte(".first\nbare LF\n")},
	}
	s := NewServer(map[string]string{"u": "p"}, map[string][]Message{"u": msgs})
	defer s.Close()
	d := dial(t, s.Addr)
	d.login("u", "p")
	if l := d.do("STAT"); l != "+OK 3 50\r\n" {
		t.Errorf("STAT: %q", l)
	}
	d.do("LIST")
	if got := d.multi(); got != "1 19\r\n2 16\r\n3 15\r\n.\r\n" {
		t.Errorf("LIST: %q", got)
	}
	d.do("UIDL")
	if got := d.multi(); got != "1 U1\r\n2 U2\r\n3 U3\r\n.\r\n" {
		t.Errorf("UIDL: %q", got)
	}
	for i, want := range []string{
		"a\r\n..\r\n...\r\n..x\r\nend\r\n.\r\n",
		"no final newline\r\n.\r\n",
		"..first\nbare LF\n.\r\n",
	} {
		d.do("RETR " + string(rune('1'+i)))
		if got := d.multi(); got != want {
			t.Errorf("RETR %d: %q, want %q", i+1, got, want)
		}
	}
	d.do("TOP 3 0")
	if got := d.multi(); got != "..first\nbare LF\n.\r\n" {
		t.Errorf("TOP without a header end: %q", got)
	}
}

func TestDeleteAtQuitOnly(t *testing.T) {
	s := NewServer(map[string]string{"u": "p"}, map[string][]Message{"u": {{Data: []byte("one\r\n")}, {Data: []byte("two\r\n")}}})
	defer s.Close()

	d := dial(t, s.Addr)
	d.login("u", "p")
	d.do("DELE 1")
	// A second session is refused while the maildrop is locked.
	other := dial(t, s.Addr)
	other.do("USER u")
	if l := other.do("PASS p"); !strings.HasPrefix(l, "-ERR [IN-USE]") {
		t.Errorf("second session: %q", l)
	}
	d.conn.Close() // no QUIT
	time.Sleep(50 * time.Millisecond)
	if n := len(s.Mailbox("u")); n != 2 {
		t.Fatalf("a dropped session deleted: %d left", n)
	}

	d = dial(t, s.Addr)
	d.login("u", "p")
	d.do("DELE 1")
	d.do("RSET")
	d.do("DELE 2")
	if l := d.do("RETR 2"); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("RETR of a deleted message: %q", l)
	}
	d.do("QUIT")
	if m := s.Mailbox("u"); len(m) != 1 || string(m[0].Data) != "one\r\n" {
		t.Fatalf("after QUIT: %v", m)
	}
}

func TestHooks(t *testing.T) {
	s := NewUnstartedServer(map[string]string{"u": "p"}, map[string][]Message{"u": {{UIDL: "x", Data: []byte("0123456789\r\n")}, {UIDL: "y", Data: []byte("b\r\n")}}})
	s.NoUIDL = true
	s.Start()
	defer s.Close()
	s.SetHooks(Hooks{Retr: func(user string, n int, m Message, attempt int) RetrAction {
		switch {
		case m.UIDL == "y":
			return RetrAction{Err: "[SYS/PERM] broken"}
		case attempt == 1:
			return RetrAction{CutAfter: 4}
		}
		return RetrAction{}
	}})
	d := dial(t, s.Addr)
	d.login("u", "p")
	if l := d.do("UIDL"); !strings.HasPrefix(l, "-ERR") {
		t.Errorf("UIDL with NoUIDL: %q", l)
	}
	if l := d.do("RETR 2"); l != "-ERR [SYS/PERM] broken\r\n" {
		t.Errorf("RETR 2: %q", l)
	}
	d.do("RETR 1")
	buf := make([]byte, 100)
	n, _ := d.br.Read(buf)
	if got := string(buf[:n]); got != "0123" {
		t.Errorf("cut after 4 bytes: %q", got)
	}
	if _, err := d.br.ReadByte(); err == nil {
		t.Error("connection still open after the cut")
	}
	d = dial(t, s.Addr)
	d.login("u", "p")
	d.do("RETR 1")
	if got := d.multi(); got != "0123456789\r\n.\r\n" {
		t.Errorf("second attempt: %q", got)
	}
}

func TestSTLSAndAuth(t *testing.T) {
	srvCfg, cliCfg, _, err := TLSConfigs()
	if err != nil {
		t.Fatal(err)
	}
	s := NewUnstartedServer(map[string]string{"u": "p"}, nil)
	s.TLSConfig, s.SASL, s.APOP = srvCfg, true, true
	s.Start()
	defer s.Close()
	d := dial(t, s.Addr)
	d.do("CAPA")
	if caps := d.multi(); !strings.Contains(caps, "STLS\r\n") || !strings.Contains(caps, "SASL PLAIN\r\n") {
		t.Fatalf("CAPA: %q", caps)
	}
	if l := d.do("STLS"); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("STLS: %q", l)
	}
	tc := tls.Client(d.conn, cliCfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	d.conn, d.br = tc, bufio.NewReader(tc)
	d.do("CAPA")
	if caps := d.multi(); strings.Contains(caps, "STLS") {
		t.Errorf("STLS offered again: %q", caps)
	}
	if l := d.do("AUTH PLAIN AHUAcA=="); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("AUTH PLAIN: %q", l)
	}
	for _, c := range s.Commands() {
		if strings.Contains(c, "AHUAcA") {
			t.Errorf("credentials in the log: %q", c)
		}
	}
}
