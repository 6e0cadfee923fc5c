package pop3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
)

func TestLoginUserPass(t *testing.T) {
	c, done := dialScript(t, join(greet, script{
		"C: USER alice",
		"S: +OK\r\n",
		"C: PASS s3cret word",
		"S: +OK maildrop locked and ready\r\n",
		"C: CAPA",
		"S: +OK\r\nUIDL\r\nPIPELINING\r\n.\r\n",
		"C: STAT",
		"S: +OK 2 320\r\n",
		"C: QUIT",
		"S: +OK bye\r\n",
	}), Options{})
	ctx := context.Background()
	if err := c.Login(ctx, "alice", "s3cret word", Auto); err != nil {
		t.Fatal(err)
	}
	if !c.Capabilities().Has("pipelining") || c.Capabilities().Has("TOP") {
		t.Errorf("capabilities after login: %v", c.Capabilities())
	}
	n, size, err := c.Stat(ctx)
	if err != nil || n != 2 || size != 320 {
		t.Fatalf("STAT = %d %d %v", n, size, err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
}

func TestLoginAPOP(t *testing.T) {
	// RFC 1939 §7's example: the digest of the timestamp and "tanstaaf".
	c, done := dialScript(t, script{
		"S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
		"C: CAPA",
		"S: -ERR what?\r\n",
		"C: APOP mrose c4c9334bac560ecc979e58001b3e22fb",
		"S: +OK maildrop has 1 message (369 octets)\r\n",
		"C: CAPA",
		"S: -ERR what?\r\n",
	}, Options{})
	if err := c.Login(context.Background(), "mrose", "tanstaaf", Auto); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
}

func TestLoginSASLPlain(t *testing.T) {
	// RFC 5034 §4 with an initial response, then a server that wants
	// the response after an empty challenge.
	c, done := dialScript(t, script{
		"S: +OK ready\r\n",
		"C: CAPA",
		"S: +OK\r\nSASL PLAIN LOGIN\r\nUSER\r\n.\r\n",
		"C: AUTH PLAIN AGFsaWNlAHNlY3JldA==",
		"S: +OK welcome\r\n",
		"C: CAPA",
		"S: +OK\r\nUIDL\r\n.\r\n",
		"C: AUTH PLAIN",
		"S: + \r\n",
		"C: AGFsaWNlAHNlY3JldA==",
		"S: -ERR [AUTH] nope\r\n",
	}, Options{})
	ctx := context.Background()
	if err := c.Login(ctx, "alice", "secret", Auto); err != nil {
		t.Fatal(err)
	}
	err := c.Auth(ctx, noIR{sasl.NewPlainClient("", "alice", "secret")})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("AUTH refused: got %v, want ErrAuth", err)
	}
	wait(t, done)
}

// noIR is a SASL client that sends its initial response only when asked.
type noIR struct{ sasl.Client }

func (c noIR) Start() (string, []byte, error) {
	mech, _, err := c.Client.Start()
	return mech, nil, err
}

func (c noIR) Next(challenge []byte) ([]byte, error) {
	_, ir, err := c.Client.Start()
	return ir, err
}

func TestErrorCodes(t *testing.T) {
	c, done := dialScript(t, join(greet, script{
		"C: USER bob",
		"S: +OK\r\n",
		"C: PASS x",
		"S: -ERR [IN-USE] Do you have another POP session running?\r\n",
		"C: USER bob",
		"S: +OK\r\n",
		"C: PASS x",
		"S: -ERR [SYS/TEMP] try later\r\n",
		"C: USER bob",
		"S: +OK\r\n",
		"C: PASS x",
		"S: -ERR [AUTH] Authentication failed.\r\n",
		"C: USER bob",
		"S: +OK\r\n",
		"C: PASS x",
		"S: -ERR\r\n",
	}), Options{})
	ctx := context.Background()
	for i, want := range []struct {
		code      string
		temporary bool
		auth      bool
	}{{CodeInUse, true, false}, {CodeSysTemp, true, false}, {CodeAuth, false, true}, {"", false, true}} {
		err := c.Login(ctx, "bob", "x", MechUser)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%d: %v is not an *Error", i, err)
		}
		if e.Code != want.code || e.Temporary() != want.temporary || errors.Is(err, ErrAuth) != want.auth {
			t.Errorf("%d: %+v: temporary %v, auth %v; want %+v", i, e, e.Temporary(), errors.Is(err, ErrAuth), want)
		}
		if strings.Contains(err.Error(), "x") && strings.Contains(err.Error(), "PASS x") {
			t.Errorf("the password is in the error: %v", err)
		}
		if c.Err() != nil {
			t.Fatalf("session dead after -ERR: %v", c.Err())
		}
	}
	wait(t, done)
}

// loggedIn is greet plus a USER/PASS login without further CAPA.
var loggedIn = join(greet, script{
	"C: USER u", "S: +OK\r\n", "C: PASS p", "S: +OK\r\n",
	"C: CAPA", "S: +OK\r\nTOP\r\nUIDL\r\nPIPELINING\r\n.\r\n",
})

func login(t *testing.T, s script) (*Client, <-chan struct{}) {
	t.Helper()
	c, done := dialScript(t, join(loggedIn, s), Options{})
	if err := c.Login(context.Background(), "u", "p", MechUser); err != nil {
		t.Fatal(err)
	}
	return c, done
}

func retr(t *testing.T, c *Client, n int) ([]byte, error) {
	t.Helper()
	body, err := c.Retr(context.Background(), n)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(body)
	if cerr := body.Close(); err == nil {
		err = cerr
	}
	return b, err
}

func TestRetrDotStuffing(t *testing.T) {
	long := strings.Repeat("0123456789", 10<<10) // a 100 KB line
	cases := []struct {
		name, wire, want string
	}{
		{"plain", "Subject: a\r\n\r\nbody\r\n.\r\n", "Subject: a\r\n\r\nbody\r\n"},
		{"line that is a dot", "a\r\n..\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n"},
		{"line that is two dots", "a\r\n...\r\nb\r\n.\r\n", "a\r\n..\r\nb\r\n"},
		{"stuffed line", "a\r\n..leading dot\r\n.\r\n", "a\r\n.leading dot\r\n"},
		{"unstuffed dot line (RFC: strip)", "a\r\n.x\r\n.\r\n", "a\r\nx\r\n"},
		{"first line stuffed", "..first\r\n.\r\n", ".first\r\n"},
		{"dot then CR not LF", "a\r\n.\rx\r\n.\r\n", "a\r\n\rx\r\n"},
		{"100 KB line", "h: v\r\n\r\n" + long + "\r\n.\r\n", "h: v\r\n\r\n" + long + "\r\n"},
		{"bare LF kept", "h: v\n\nline\nlast\n.\r\n", "h: v\n\nline\nlast\n"},
		{"bare LF before terminator", "a\r\nno final CRLF\n.\r\n", "a\r\nno final CRLF\n"},
		{"LF terminator", "a\r\nb\r\n.\n", "a\r\nb\r\n"},
		{"empty", ".\r\n", ""},
		{"NUL and 8bit", "a\x00\xff\r\n.\r\n", "a\x00\xff\r\n"},
	}
	var s script
	for i, tc := range cases {
		s = append(s, "C: RETR "+itoa(i+1), "S: +OK\r\n"+tc.wire)
	}
	s = append(s, "C: NOOP", "S: +OK\r\n")
	c, done := login(t, s)
	for i, tc := range cases {
		got, err := retr(t, c, i+1)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, trunc(got), trunc([]byte(tc.want)))
		}
	}
	if err := c.Noop(context.Background()); err != nil {
		t.Fatalf("session out of step: %v", err)
	}
	wait(t, done)
}

func trunc(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:100:100], "..."...)
	}
	return b
}

func TestRetrSmallReads(t *testing.T) {
	// Reads of one byte must give the same bytes: the unstuffer's state
	// survives any split of the input.
	wire := "..a\r\n.\rb\r\n...\r\nx\n.y\r\n"
	want := ".a\r\n\rb\r\n..\r\nx\ny\r\n"
	c, done := login(t, script{"C: RETR 1", "S: +OK\r\n" + wire + ".\r\n", "C: NOOP", "S: +OK\r\n"})
	body, err := c.Retr(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var one [1]byte
	for {
		n, err := body.Read(one[:])
		got = append(got, one[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := c.Noop(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
}

func TestRetrErrorAndGoOn(t *testing.T) {
	c, done := login(t, script{
		"C: RETR 1", "S: -ERR [SYS/PERM] message is corrupt on disk\r\n",
		"C: RETR 2", "S: +OK\r\nfine\r\n.\r\n",
	})
	_, err := retr(t, c, 1)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeSysPerm || e.Command != "RETR 1" {
		t.Fatalf("RETR 1: %v", err)
	}
	if got, err := retr(t, c, 2); err != nil || string(got) != "fine\r\n" {
		t.Fatalf("RETR 2: %q %v", got, err)
	}
	wait(t, done)
}

func TestRetrCloseDrains(t *testing.T) {
	c, done := login(t, script{
		"C: RETR 1", "S: +OK\r\n" + strings.Repeat("line of the message\r\n", 5000) + ".\r\n",
		"C: RETR 2", "S: +OK\r\nsecond\r\n.\r\n",
		"C: NOOP", "S: +OK\r\n",
	})
	ctx := context.Background()
	body, err := c.Retr(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(body, make([]byte, 10))
	if err := body.Close(); err != nil {
		t.Fatal(err)
	}
	// A body neither read nor closed is drained by the next command.
	if _, err := c.Retr(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
}

func TestRetrTruncated(t *testing.T) {
	c, done := login(t, script{"C: RETR 1", "S: +OK\r\nSubject: cut\r\n\r\nhalf a mess", "CLOSE"})
	got, err := retr(t, c, 1)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body: got %q, %v; want io.ErrUnexpectedEOF", got, err)
	}
	if c.Err() == nil {
		t.Fatal("session still usable after a cut")
	}
	if err := c.Noop(context.Background()); err == nil {
		t.Fatal("NOOP on a dead session succeeded")
	}
	wait(t, done)
}

func TestGarbage(t *testing.T) {
	cases := []struct {
		name, reply string
	}{
		{"not a status", "HTTP/1.1 400 Bad Request\r\n"},
		{"OK without +", "OK 1 2\r\n"},
		{"+OKAY", "+OKAY\r\n"},
		{"huge line", "+OK " + strings.Repeat("x", 10<<10) + "\r\n"},
		{"binary", "\x00\x01\x02\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, done := login(t, script{"C: STAT", "S: " + tc.reply, "STALL"})
			_, _, err := c.Stat(context.Background())
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("STAT: %v, want a *ProtocolError", err)
			}
			if c.Err() == nil {
				t.Fatal("session usable after garbage")
			}
			c.Close()
			wait(t, done)
		})
	}
	t.Run("STAT fields", func(t *testing.T) {
		c, done := login(t, script{"C: STAT", "S: +OK lots\r\n", "STALL"})
		if _, _, err := c.Stat(context.Background()); err == nil {
			t.Fatal("STAT +OK lots: no error")
		}
		c.Close()
		wait(t, done)
	})
}

func TestListUIDL(t *testing.T) {
	c, done := login(t, script{
		"C: LIST", "S: +OK 3 messages\r\n1 120\r\n2 200\r\n3 5000000\r\n.\r\n",
		"C: UIDL", "S: +OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n3 ..dotty\r\n.\r\n",
		"C: LIST", "S: +OK\r\n1 10\r\n.\r\n",
		"C: UIDL", "S: -ERR command not implemented\r\n",
		"C: NOOP", "S: +OK\r\n",
	})
	ctx := context.Background()
	msgs, hasUIDL, err := c.Messages(ctx)
	if err != nil || !hasUIDL {
		t.Fatal(err, hasUIDL)
	}
	want := []MessageInfo{{1, 120, "whqtswO00WBw418f9t5JxYwZ"}, {2, 200, "QhdPYR:00WBw1Ph7x7"}, {3, 5000000, "..dotty"}}
	if len(msgs) != 3 || msgs[0] != want[0] || msgs[1] != want[1] || msgs[2] != want[2] {
		t.Errorf("Messages = %v, want %v", msgs, want)
	}
	msgs, hasUIDL, err = c.Messages(ctx)
	if err != nil || hasUIDL || len(msgs) != 1 || msgs[0].UID != "" {
		t.Fatalf("without UIDL: %v %v %v", msgs, hasUIDL, err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
}

func TestPipelinedRetrEach(t *testing.T) {
	// With PIPELINING, all RETRs go out before the first answer is read;
	// a refused one is reported and the others go on.
	c, done := dialScript(t, join(loggedIn, script{
		"C: RETR 1", "C: RETR 2", "C: RETR 3",
		"S: +OK\r\none\r\n.\r\n-ERR [SYS/PERM] gone\r\n+OK\r\n..three\r\n.\r\n",
		"C: DELE 1", "C: DELE 3",
		"S: +OK\r\n-ERR no such message\r\n",
		"C: RSET", "S: +OK\r\n",
	}), Options{Window: 8})
	ctx := context.Background()
	if err := c.Login(ctx, "u", "p", MechUser); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := c.RetrEach(ctx, []int{1, 2, 3}, func(n int, body io.Reader, err error) error {
		if err != nil {
			got = append(got, itoa(n)+" "+err.Error())
			return nil
		}
		b, err := io.ReadAll(body)
		got = append(got, itoa(n)+" "+string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 one\r\n", "2 RETR 2: server said -ERR [SYS/PERM] gone", "3 .three\r\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	refused, err := c.DeleEach(ctx, []int{1, 3})
	if err != nil || len(refused) != 1 || refused[3] == nil {
		t.Fatalf("DeleEach: %v %v", refused, err)
	}
	if err := c.Rset(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
}

func TestTop(t *testing.T) {
	c, done := login(t, script{"C: TOP 4 0", "S: +OK\r\nReceived: x\r\nSubject: y\r\n\r\n.\r\n"})
	body, err := c.Top(context.Background(), 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	if string(b) != "Received: x\r\nSubject: y\r\n\r\n" {
		t.Errorf("TOP: %q", b)
	}
	wait(t, done)
}

func TestSTLSRefusesInjectedData(t *testing.T) {
	// A man in the middle appends a response to the +OK of STLS, hoping
	// the client reads it as if it had come over TLS.
	addr, done := scriptServer(t, script{
		"S: +OK ready\r\n",
		"C: CAPA",
		"S: +OK\r\nSTLS\r\nUSER\r\n.\r\n",
		"C: STLS",
		"S: +OK begin TLS\r\n+OK injected\r\n",
		"STALL",
	})
	_, err := Dial(context.Background(), addr, Options{Security: STARTTLS, Timeout: 5 * time.Second})
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *ProtocolError", err)
	}
	wait(t, done)
}

func TestSTLSNotOffered(t *testing.T) {
	addr, done := scriptServer(t, script{"S: +OK ready\r\n", "C: CAPA", "S: +OK\r\nUSER\r\n.\r\n", "STALL"})
	_, err := Dial(context.Background(), addr, Options{Security: STARTTLS, Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "STLS") {
		t.Fatalf("got %v, want a refusal naming STLS", err)
	}
	wait(t, done)
}

func TestIdleTimeout(t *testing.T) {
	addr, done := scriptServer(t, join(loggedIn, script{"C: RETR 1", "S: +OK\r\nthe first line\r\n", "STALL"}))
	c, err := Dial(context.Background(), addr, Options{Security: Plain, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(context.Background(), "u", "p", MechUser); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = retr(t, c, 1)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("stalled body: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}
	c.Close()
	wait(t, done)
}

func TestContextCancelStopsRead(t *testing.T) {
	c, done := login(t, script{"C: RETR 1", "S: +OK\r\nbegin\r\n", "STALL"})
	ctx, cancel := context.WithCancel(context.Background())
	body, err := c.Retr(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = io.ReadAll(body)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancel took %v", d)
	}
	c.Close()
	wait(t, done)
}

func TestLongGreeting(t *testing.T) {
	// Longer than RFC 2449's 512 octets: accepted.
	g := "+OK " + strings.Repeat("very long greeting ", 60) + "\r\n"
	c, done := dialScript(t, script{"S: " + g, "C: CAPA", "S: -ERR\r\n"}, Options{})
	if !bytes.Contains([]byte(c.Greeting()), []byte("very long")) {
		t.Errorf("greeting %q", c.Greeting())
	}
	wait(t, done)
}

func TestTrace(t *testing.T) {
	var trace bytes.Buffer
	c, done := dialScript(t, join(greet, script{"C: USER u", "S: +OK\r\n", "C: PASS hunter2", "S: +OK\r\n", "C: CAPA", "S: -ERR\r\n"}), Options{Trace: &trace})
	if err := c.Login(context.Background(), "u", "hunter2", MechUser); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
	if strings.Contains(trace.String(), "hunter2") || !strings.Contains(trace.String(), "C: PASS") {
		t.Errorf("trace:\n%s", trace.String())
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestListingWithGarbageLine(t *testing.T) {
	c, done := login(t, script{
		"C: LIST", "S: +OK\r\n1 100\r\nbogus\r\n3 300\r\n.\r\n",
		"C: UIDL", "S: +OK\r\n1 a\r\n3\r\n.\r\n",
		"C: NOOP", "S: +OK\r\n",
	})
	ctx := context.Background()
	msgs, hasUIDL, err := c.Messages(ctx)
	var pe *ProtocolError
	if !errors.As(err, &pe) || !hasUIDL || c.Err() != nil {
		t.Fatalf("err %v, hasUIDL %v, session %v", err, hasUIDL, c.Err())
	}
	if len(msgs) != 2 || msgs[0] != (MessageInfo{1, 100, "a"}) || msgs[1] != (MessageInfo{3, 300, ""}) {
		t.Fatalf("%v", msgs)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, done)
}
