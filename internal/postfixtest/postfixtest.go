// Package postfixtest runs a private Postfix on 127.0.0.1 for mailark's
// SMTP interop tests: it accepts any sender and recipient from loopback
// and delivers every message once into one Maildir (Server.Maildir), with
// virtual(8). It installs nothing and does not touch the system's Postfix:
// the instance has its own config_directory, queue_directory,
// data_directory and maillog_file under Server.Dir, listens on a free port
// of 127.0.0.1 only, and runs no chrooted service. Modelled on
// shared/bench/smtpsink.sh.
//
// Postfix adds Return-Path, Delivered-To and Received at the top of each
// message it delivers and stores line ends as LF; it changes nothing else:
// local_header_rewrite_clients is empty, so the loopback client is not
// "local" and gets no Message-ID or Date added, and message_drop_headers is
// empty, so a message's own Return-Path, Bcc or Content-Length stay. The
// rest of a delivered file is the message as sent (see Body).
//
// # Requirements
//
// Debian's postfix package, and root (the master process must start as
// root). Without them tests skip, or fail when CI is set or
// MAILARK_TEST_POSTFIX=1. Mail is delivered as the system user
// "mailarktest" (MAILARK_TEST_MAIL_USER), created with useradd if missing.
// POSTFIXTEST_KEEP=1 keeps Server.Dir.
package postfixtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running private Postfix.
type Server struct {
	Dir     string // private root: etc/, spool/, data/, postfix.log, Maildir/
	Addr    string // 127.0.0.1:port
	Maildir string // where every message goes
	LogFile string

	bin  string
	conf string
}

// Start runs a fresh Postfix for the test and stops it in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := find("postfix")
	if err == nil && os.Geteuid() != 0 {
		err = errors.New("postfixtest: a private Postfix needs root (its master process starts as root)")
	}
	if err != nil {
		if mustRun() {
			t.Fatalf("%v (CI or MAILARK_TEST_POSTFIX=1 is set, so this is an error; install Debian's postfix)", err)
		}
		t.Skipf("%v; install Debian's postfix and run as root to run this test", err)
	}
	uid, gid, err := mailUser()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "postfixtest-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, Maildir: filepath.Join(dir, "Maildir"), LogFile: filepath.Join(dir, "postfix.log"), bin: bin, conf: filepath.Join(dir, "etc")}
	t.Cleanup(func() {
		if os.Getenv("POSTFIXTEST_KEEP") == "" {
			os.RemoveAll(dir)
		} else {
			t.Logf("postfixtest: kept %s", dir)
		}
	})
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := s.prepare(uid, gid); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	t.Cleanup(func() { s.stop(t) }) // before start: a half-started master is stopped too
	if out, err := s.postfix("start"); err != nil {
		t.Fatalf("postfixtest: postfix start: %v\n%s\n%s", err, out, s.logTail(20))
	}
	if err := s.waitBanner(20 * time.Second); err != nil {
		t.Fatalf("postfixtest: %v\n%s", err, s.logTail(20))
	}
	t.Logf("postfixtest: Postfix up in %v on %s, Maildir %s", time.Since(t0).Round(time.Millisecond), s.Addr, s.Maildir)
	return s
}

func mustRun() bool {
	ci, ok := os.LookupEnv("CI")
	return (ok && ci != "false" && ci != "0") || os.Getenv("MAILARK_TEST_POSTFIX") == "1"
}

func find(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("postfixtest: %s not found", name)
}

// mailUser is the unprivileged owner of the Maildir (virtual(8) will not
// deliver as root).
func mailUser() (uid, gid int, err error) {
	name := os.Getenv("MAILARK_TEST_MAIL_USER")
	if name == "" {
		name = "mailarktest"
	}
	u, err := user.Lookup(name)
	if errors.As(err, new(user.UnknownUserError)) {
		for attempt := 0; attempt < 10; attempt++ {
			out, cerr := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
				"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
			if u, err = user.Lookup(name); err == nil {
				break
			}
			err = fmt.Errorf("postfixtest: useradd %s: %v: %s", name, cerr, out)
			time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
		}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("postfixtest: mail user %s: %w", name, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	if uid == 0 {
		return 0, 0, fmt.Errorf("postfixtest: mail user %s is root", name)
	}
	return uid, gid, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) prepare(uid, gid int) error {
	pf, err := user.Lookup("postfix")
	if err != nil {
		return fmt.Errorf("postfixtest: the postfix user is missing (is Debian's postfix installed?): %w", err)
	}
	pfUID, _ := strconv.Atoi(pf.Uid)
	pfGID, _ := strconv.Atoi(pf.Gid)
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"etc", "spool", "data", "Maildir/cur", "Maildir/new", "Maildir/tmp"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chown(filepath.Join(s.Dir, "data"), pfUID, pfGID); err != nil {
		return err
	}
	for _, d := range []string{"Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp"} {
		if err := os.Chown(filepath.Join(s.Dir, d), uid, gid); err != nil {
			return err
		}
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	mainCF := fmt.Sprintf(`# Generated by mailark's postfixtest for one test; do not edit.
compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
maillog_file = %[1]s/postfix.log
maillog_file_prefixes = %[1]s
mail_owner = postfix
setgid_group = postdrop
myhostname = sink.postfixtest.invalid
mydomain = postfixtest.invalid
myorigin = $myhostname
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP postfixtest
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_error_sleep_time = 0
# the loopback client is not "local": no Message-ID, Date or address rewriting
local_header_rewrite_clients =
# keep every header as sent (by default cleanup drops Return-Path, Bcc,
# Content-Length and Resent-Bcc)
message_drop_headers =
smtputf8_enable = yes
in_flow_delay = 0
message_size_limit = 209715200
notify_classes =
biff = no
virtual_alias_maps = static:sink@sink.postfixtest.invalid
virtual_alias_domains =
enable_original_recipient = no
virtual_mailbox_domains = static:all
virtual_mailbox_base = %[1]s
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:%[2]d
virtual_gid_maps = static:%[3]d
virtual_minimum_uid = %[2]d
virtual_mailbox_limit = 0
default_transport = error:postfixtest delivers nothing outside
relay_transport = error:postfixtest delivers nothing outside
`, s.Dir, uid, gid)
	masterCF := fmt.Sprintf(`# Generated by mailark's postfixtest: only what a local sink needs, nothing chrooted
127.0.0.1:%s inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
virtual    unix  - n n -  - virtual
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
`, port)
	if err := os.WriteFile(filepath.Join(s.conf, "main.cf"), []byte(mainCF), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.conf, "master.cf"), []byte(masterCF), 0o644)
}

func (s *Server) postfix(args ...string) ([]byte, error) {
	cmd := exec.Command(s.bin, append([]string{"-c", s.conf}, args...)...)
	return cmd.CombinedOutput()
}

func (s *Server) waitBanner(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "QUIT\r\n")
			c.Close()
			if strings.HasPrefix(line, "220") {
				return nil
			}
			last = fmt.Errorf("greeting %q (%v)", line, rerr)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no SMTP greeting on %s: %v", s.Addr, last)
}

func (s *Server) stop(t testing.TB) {
	if out, err := s.postfix("stop"); err != nil {
		t.Logf("postfixtest: postfix stop: %v\n%s", err, out)
		if b, err := os.ReadFile(filepath.Join(s.Dir, "spool", "pid", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("postfixtest: last lines of %s:\n%s", s.LogFile, s.logTail(30))
	}
}

func (s *Server) logTail(n int) string {
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Messages returns the delivered files, oldest name first.
func (s *Server) Messages(t testing.TB) [][]byte {
	t.Helper()
	var names []string
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(s.Maildir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			names = append(names, filepath.Join(s.Maildir, sub, e.Name()))
		}
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Wait waits until at least n messages are delivered (Postfix delivers
// asynchronously, after its 250) and returns them.
func (s *Server) Wait(t testing.TB, n int, limit time.Duration) [][]byte {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ms := s.Messages(t)
		if len(ms) >= n || time.Now().After(deadline) {
			if len(ms) < n {
				t.Errorf("postfixtest: %d of %d messages delivered after %v\n%s", len(ms), n, limit, s.logTail(20))
			}
			return ms
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Body splits a delivered file into the headers Postfix added at the top
// (Return-Path, Delivered-To, and its own Received) and the message as it
// was sent, with LF line ends turned back into CRLF. ok is false when the
// file does not start with those headers.
func Body(delivered []byte) (added []string, msg []byte, ok bool) {
	rest := delivered
	for _, name := range []string{"Return-Path:", "Delivered-To:", "Received:"} {
		if !bytes.HasPrefix(rest, []byte(name)) {
			return added, nil, false
		}
		// One header field, folded lines included.
		end := 0
		for {
			i := bytes.IndexByte(rest[end:], '\n')
			if i < 0 {
				return added, nil, false
			}
			end += i + 1
			if end >= len(rest) || (rest[end] != ' ' && rest[end] != '\t') {
				break
			}
		}
		added = append(added, string(rest[:end]))
		rest = rest[end:]
	}
	return added, lfToCRLF(rest), true
}

func lfToCRLF(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/40)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out.WriteByte('\r')
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}
