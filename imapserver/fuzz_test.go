package imapserver

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary bytes to a session in each state (not
// authenticated, authenticated, selected): the server must not panic
// (go-imap recovers panics in a command, so the test also fails on the
// logged "panic"), must end the connection when the client stops
// sending, and must go on serving.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a NOOP\r\n", "a CAPABILITY\r\n", "a LOGIN {3}\r\nbob {3}\r\nabc\r\n", "a SELECT {5}\r\nTests\r\n",
		"a FETCH 1:* (BODY[1.2.3.MIME] BODY.PEEK[HEADER.FIELDS (a b)]<0.10> BINARY[2] BINARY.SIZE[1] ENVELOPE BODYSTRUCTURE)\r\n",
		"a UID FETCH *:1 BODY[]<4294967295.4294967295>\r\n", "a SEARCH OR (TEXT x) NOT HEADER a \"\" UID 1:*,5 SEQ\r\n",
		"a STORE 1 FLAGS (\\Seen)\r\n", "a APPEND INBOX {4+}\r\nabcd\r\n", "a APPEND INBOX {99999999999999999999}\r\n",
		"a IDLE\r\nDONE\r\n", "a STARTTLS\r\n", "a AUTHENTICATE PLAIN\r\n*\r\n", "a LIST \"\" \"%/*/..\"\r\n",
		"a STATUS \"&Jjo-\" (MESSAGES)\r\n", "a EXAMINE \"&AC4ALg-\"\r\n", "a ENABLE UTF8=ACCEPT\r\na SELECT \"Re\xc3\xa7us\"\r\n",
		"\x00\xff\r\n", "a CLOSE\r\na EXPUNGE\r\na UNSELECT\r\n",
	} {
		for state := range 3 {
			f.Add(uint8(state), []byte(s))
		}
	}
	fx := sharedFixture(f)
	cfg := testConfig(fx)
	cfg.LoginDelay, cfg.MaxLoginDelay = time.Millisecond, time.Millisecond
	cfg.Logger = panicLogger(f)
	srv, addr := startServer(f, cfg)
	prefixes := []string{"", "p1 LOGIN alice \"" + password + "\"\r\n", "p1 LOGIN alice \"" + password + "\"\r\np2 SELECT Tests\r\n"}
	f.Fuzz(func(t *testing.T, state uint8, data []byte) {
		began := time.Now()
		defer func() {
			if d := time.Since(began); d > 3*time.Second {
				t.Fatalf("slow input (%v): state %d %q", d, state, data)
			}
		}()
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		go func() {
			conn.Write([]byte(prefixes[int(state)%len(prefixes)]))
			conn.Write(data)
			conn.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Fatalf("the server did not end the connection: %v", err)
		}
		for deadline := time.Now().Add(10 * time.Second); srv.Connections() > 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections left open", srv.Connections())
			}
		}
	})
	// The server is still up.
	c := dial(f, addr)
	c.login("alice")
}
