package imapserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// sessionStates are the states FuzzSession puts a session in before the
// fuzzed bytes: the commands that get there and the response line that
// shows it got there.
var sessionStates = []struct{ name, prefix, reached string }{
	{"not authenticated", "", "* OK "},
	{"authenticated", "p1 LOGIN alice \"" + password + "\"\r\n", "p1 OK "},
	{"selected", "p1 LOGIN alice \"" + password + "\"\r\np2 SELECT Tests\r\n", "p2 OK [READ-ONLY] "},
	{"idle", "p1 LOGIN alice \"" + password + "\"\r\np2 SELECT Tests\r\np3 IDLE\r\n", "+ idling"},
	{"logout", "p1 LOGIN alice \"" + password + "\"\r\np3 LOGOUT\r\n", "p3 OK "},
}

// FuzzSession feeds arbitrary bytes to a session in each state (not
// authenticated, authenticated, selected, idle, logged out): the server
// must not panic (go-imap recovers panics in a command, so the test also
// fails on the logged "panic"), must end the connection when the client
// stops sending, and must go on serving. Each run first checks that its
// prefix reached the state, so that a broken login or SELECT cannot turn
// the fuzzing of the later states into more of the first.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a NOOP\r\n", "a CAPABILITY\r\n", "a LOGIN {3}\r\nbob {3}\r\nabc\r\n", "a SELECT {5}\r\nTests\r\n",
		"a FETCH 1:* (BODY[1.2.3.MIME] BODY.PEEK[HEADER.FIELDS (a b)]<0.10> BINARY[2] BINARY.SIZE[1] ENVELOPE BODYSTRUCTURE)\r\n",
		"a UID FETCH *:1 BODY[]<4294967295.4294967295>\r\n", "a SEARCH OR (TEXT x) NOT HEADER a \"\" UID 1:*,5 SEQ\r\n",
		"a STORE 1 FLAGS (\\Seen)\r\n", "a APPEND INBOX {4+}\r\nabcd\r\n", "a APPEND INBOX {99999999999999999999}\r\n",
		"a IDLE\r\nDONE\r\n", "a STARTTLS\r\n", "a AUTHENTICATE PLAIN\r\n*\r\n", "a LIST \"\" \"%/*/..\"\r\n",
		"a STATUS \"&Jjo-\" (MESSAGES)\r\n", "a EXAMINE \"&AC4ALg-\"\r\n", "a ENABLE UTF8=ACCEPT\r\na SELECT \"Re\xc3\xa7us\"\r\n",
		"\x00\xff\r\n", "a CLOSE\r\na EXPUNGE\r\na UNSELECT\r\n",
		// For the idle and logout states: the end of IDLE, what follows it,
		// and commands where only DONE is allowed.
		"DONE\r\n", "DONE\r\na FETCH 1 (FLAGS)\r\n", "done\r\na LOGOUT\r\n", "a NOOP\r\nDONE\r\n", "DONE", "a LOGOUT\r\na NOOP\r\n",
	} {
		for state := range sessionStates {
			f.Add(uint8(state), []byte(s))
		}
	}
	fx := sharedFixture(f)
	cfg := testConfig(fx)
	cfg.LoginDelay, cfg.MaxLoginDelay = time.Millisecond, time.Millisecond
	cfg.Logger = panicLogger(f)
	srv, addr := startServer(f, cfg)
	f.Fuzz(func(t *testing.T, state uint8, data []byte) {
		began := time.Now()
		defer func() {
			if d := time.Since(began); d > 3*time.Second {
				t.Fatalf("slow input (%v): state %d %q", d, state, data)
			}
		}()
		st := sessionStates[int(state)%len(sessionStates)]
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(conn, st.prefix); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("state %s not reached: %v", st.name, err)
			}
			if strings.HasPrefix(l, st.reached) {
				break
			}
			if tag, rest, _ := strings.Cut(l, " "); tag != "*" && !strings.HasPrefix(rest, "OK ") {
				t.Fatalf("state %s not reached: %q", st.name, l)
			}
		}
		go func() {
			// The server may stop reading (or have closed, after LOGOUT):
			// write errors are no failure.
			conn.Write(data)
			conn.(*net.TCPConn).CloseWrite()
		}()
		// A reset ends the connection as well as a close does (the server
		// closed with unread input); only a timeout means it stayed open.
		if _, err := io.Copy(io.Discard, br); errors.Is(err, os.ErrDeadlineExceeded) {
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
