package imapserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/search"
	"golang.org/x/crypto/bcrypt"
)

// The scenario tests drive a real server over loopback with a raw
// tagged-line client, in the manner of mox's imapserver tests: one file
// per command area, exact responses where they are stable.

// Hand-made messages with known bytes, in work/Tests.
const (
	msgPlainLF = "From: Ann <ann@example.org>\nTo: Bob <bob@example.org>\nSubject: plain LF\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\nMessage-ID: <plain@example.org>\n\nline one\nline two\n"
	msgMulti = "From: Carl <carl@example.org>\r\nTo: Dora <dora@example.org>\r\nSubject: multi\r\n" +
		"Date: Tue, 03 Jan 2006 10:00:00 +0100\r\nMessage-ID: <multi@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello quokka\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\naGVsbG8gd29ybGQ=\r\n" +
		"--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@example.org\r\n\r\ninner body\r\n" +
		"--b1--\r\nepilogue\r\n"
)

var (
	plainDate = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	multiDate = time.Date(2021, 6, 7, 8, 9, 10, 0, time.UTC)
)

const password = "secret pass"

// fixture is an archive with two accounts, an index and a users file.
type fixture struct {
	arch  *archive.Archive
	ix    *search.Index
	users string
	dir   string
	// per account and folder, the corpus messages delivered, by UID
	msgs map[string]map[uint32][]byte
	tags map[uint32][]string // tags of the corpus messages in work/INBOX, by UID
}

var (
	sharedOnce sync.Once
	shared     *fixture
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	os.Exit(code)
}

// sharedFixture is built once for the tests that only read.
func sharedFixture(t testing.TB) *fixture {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mailark-imapserver-")
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = buildFixture(dir, 80)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func (f *fixture) close() {
	if f.ix != nil {
		f.ix.Close()
	}
	f.arch.Close()
	os.RemoveAll(f.dir)
}

// buildFixture archives n corpus messages into account "work", the
// hand-made ones into work/Tests, a few into "home", and indexes them.
func buildFixture(dir string, n int) (*fixture, error) {
	ctx := context.Background()
	adir := filepath.Join(dir, "archive")
	if err := archive.Init(ctx, adir); err != nil {
		return nil, err
	}
	a, err := archive.Open(ctx, adir, archive.Options{})
	if err != nil {
		return nil, err
	}
	f := &fixture{arch: a, dir: dir, msgs: map[string]map[uint32][]byte{}, tags: map[uint32][]string{}}
	w, err := a.NewWriter(ctx)
	if err != nil {
		return nil, err
	}
	var lastUID uint32
	deliver := func(raw []byte, m archive.Meta) error {
		res, err := w.Deliver(ctx, bytes.NewReader(raw), m)
		if err != nil {
			return err
		}
		lastUID = res.UID
		key := m.Account + "/" + m.Folder
		if f.msgs[key] == nil {
			f.msgs[key] = map[uint32][]byte{}
		}
		f.msgs[key][res.UID] = raw
		return nil
	}
	err = testcorpus.Generate(testcorpus.Options{Seed: 7, Count: n, Folders: []string{"INBOX", "Sent", "Archive/2019", "Reçus"}},
		func(m *testcorpus.Message) error {
			err := deliver(m.Raw, archive.Meta{Account: "work", Folder: m.Folder, Flags: m.Flags, InternalDate: m.InternalDate})
			if m.Folder == archive.Inbox {
				f.tags[lastUID] = m.Tags
			}
			return err
		})
	if err != nil {
		return nil, err
	}
	if err := deliver([]byte(msgPlainLF), archive.Meta{Account: "work", Folder: "Tests", Flags: []string{`\Seen`, "$Label1"}, InternalDate: plainDate}); err != nil {
		return nil, err
	}
	if err := deliver([]byte(msgMulti), archive.Meta{Account: "work", Folder: "Tests", Flags: []string{`\Flagged`}, InternalDate: multiDate}); err != nil {
		return nil, err
	}
	for i := range 3 {
		raw := fmt.Sprintf("From: h%d@example.net\r\nSubject: home %d\r\nMessage-ID: <home%d@example.net>\r\n\r\nprivate wombat %d\r\n", i, i, i, i)
		if err := deliver([]byte(raw), archive.Meta{Account: "home", Folder: "INBOX", InternalDate: plainDate.Add(time.Duration(i) * time.Hour)}); err != nil {
			return nil, err
		}
	}
	if err := deliver(bigMessage(), archive.Meta{Account: "work", Folder: "Big", InternalDate: plainDate}); err != nil {
		return nil, err
	}
	if err := deliver([]byte("Subject: secret\r\n\r\nsecret stuff\r\n"), archive.Meta{Account: "home", Folder: "Private/Deep", InternalDate: plainDate}); err != nil {
		return nil, err
	}
	if err := w.Commit(ctx); err != nil {
		return nil, err
	}
	if f.ix, err = search.Open(search.Dir(adir)); err != nil {
		return nil, err
	}
	if _, err := search.Sync(ctx, a, f.ix, nil, nil); err != nil {
		return nil, err
	}
	f.users = filepath.Join(dir, "users")
	hash := func(p string) string {
		h, _ := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
		return string(h)
	}
	err = WriteUsersFile(f.users, []User{
		{Name: "alice", Hash: hash(password), Accounts: []string{"work"}},
		{Name: "bob", Hash: hash(password), Accounts: []string{"work", "home"}},
		{Name: "carol", Hash: hash(password), Accounts: []string{"home"}},
		{Name: "dave", Hash: hash(password), Accounts: []string{AllAccounts}},
	})
	return f, err
}

// bigMessage is about 1.5 MB with bare LF line endings.
func bigMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: big@example.org\nSubject: big\nContent-Type: text/plain\n\n")
	for i := 0; b.Len() < 1500000; i++ {
		fmt.Fprintf(&b, "line %d of a big message with bare LF endings, and some padding text\n", i)
	}
	return b.Bytes()
}

// testConfig is a server configuration with test-sized delays.
func testConfig(f *fixture) Config {
	return Config{Archive: f.arch, Index: f.ix, UsersFile: f.users, PlainLoopback: true,
		LoginDelay: 20 * time.Millisecond, MaxLoginDelay: 160 * time.Millisecond, IdlePoll: 50 * time.Millisecond,
		Logger: testLogger()}
}

func testLogger() *slog.Logger {
	if os.Getenv("MAILARK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// startServer serves cfg on a loopback port until the test ends.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, ln.Addr().String()
}

// client is a raw IMAP client: it sends lines and reads responses, with
// literals inlined.
type client struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
	tag  int
	last string // tagged response of the last command
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	return dialFrom(t, addr, "")
}

// dialFrom connects from a given local address ("" for any).
func dialFrom(t testing.TB, addr, local string) *client {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, conn: conn, br: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	if g := c.readLine(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting: %q", g)
	}
	return c
}

var literalRE = regexp.MustCompile(`\{(\d+)\}\r\n$`)

// readLine reads one response line, inlining literals.
func (c *client) readLine() string {
	c.t.Helper()
	var b strings.Builder
	for {
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading response: %v (so far %q)", err, b.String()+line)
		}
		b.WriteString(line)
		m := literalRE.FindStringSubmatch(line)
		if m == nil {
			return strings.TrimSuffix(b.String(), "\r\n")
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.t.Fatalf("reading literal: %v", err)
		}
		b.Write(buf)
	}
}

// write sends raw bytes.
func (c *client) write(s string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("writing: %v", err)
	}
}

// command sends a tagged command and returns the untagged responses; the
// tagged one is in c.last without its tag.
func (c *client) command(format string, args ...any) []string {
	c.t.Helper()
	c.tag++
	tag := fmt.Sprintf("a%d", c.tag)
	c.write(tag + " " + fmt.Sprintf(format, args...) + "\r\n")
	var untagged []string
	for {
		l := c.readLine()
		if strings.HasPrefix(l, tag+" ") {
			c.last = strings.TrimPrefix(l, tag+" ")
			return untagged
		}
		untagged = append(untagged, l)
	}
}

// transactf runs a command and checks the tagged status (OK, NO, BAD).
func (c *client) transactf(status, format string, args ...any) []string {
	c.t.Helper()
	u := c.command(format, args...)
	if !strings.HasPrefix(c.last, status+" ") {
		c.t.Fatalf("%s: got %q, want %s (untagged %q)", fmt.Sprintf(format, args...), c.last, status, u)
	}
	return u
}

// xuntagged checks the untagged responses exactly.
func (c *client) xuntagged(got []string, want ...string) {
	c.t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		c.t.Fatalf("untagged responses:\n got %q\nwant %q", got, want)
	}
}

func (c *client) login(user string) {
	c.t.Helper()
	c.transactf("OK", "LOGIN %s %q", user, password)
}

// expectClosed checks that the server ends the connection soon.
func (c *client) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := c.br.ReadString('\n'); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("connection still open")
			}
			return
		}
	}
}

// crlf normalises bare LF to CRLF, as the server sends messages.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}
