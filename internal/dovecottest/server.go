package dovecottest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// User is a mail account of the test server.
type User struct{ Name, Password string }

// Options configures Start. The zero value is ready to use.
type Options struct {
	// Users to create; nil means alice, bob and carol, each with password
	// "secret". Every user starts with an empty INBOX.
	Users []User
}

// Server is a private Dovecot instance listening on 127.0.0.1 only.
type Server struct {
	Dir string // private root: config, passwd, certificate, state, log, homes

	IMAPAddr  string // 127.0.0.1:port, plain IMAP with STARTTLS offered
	IMAPSAddr string // implicit TLS
	POP3Addr  string // plain POP3 with STLS offered
	POP3SAddr string // implicit TLS

	CAFile  string // PEM of the self-signed server certificate
	Config  string // dovecot.conf; pass to doveadm/doveconf with -c
	LogFile string // Dovecot's log (also dumped into the test log on failure)

	Users []User

	acct    account
	bins    binaries
	roots   *x509.CertPool // the self-signed certificate, for TLSConfig
	baseDir string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the master process has been reaped
	waitErr error

	mu      sync.Mutex
	conns   map[string]*imapConn // cached APPEND connections, by user
	seq     int64                // FillBulk file-name counter
	nameT0  time.Time            // FillBulk file-name base time
	stopped bool
}

const defaultPassword = "secret"

// Start runs a fresh Dovecot for the test and stops it in t.Cleanup.
//
// If Dovecot (dovecot, doveadm, imap, pop3) is not installed the test is
// skipped, unless the environment variable CI is set or
// MAILARK_TEST_DOVECOT=1: then it fails, so that a CI machine without
// Dovecot cannot pass silently.
//
// As root, mail is accessed as the system user DefaultMailUser (created if
// missing) and everything under the users' homes is owned by it; as any
// other user, Dovecot runs entirely as that user.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	t0 := time.Now()
	bins := requireDovecot(t)
	a, err := mailAccount()
	if err != nil {
		t.Fatal(err)
	}
	users := opts.Users
	if users == nil {
		users = []User{{"alice", defaultPassword}, {"bob", defaultPassword}, {"carol", defaultPassword}}
	}
	if err := validateUsers(users); err != nil {
		t.Fatal(err)
	}

	dir, err := os.MkdirTemp(a.tempRoot(), "dovecottest-")
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	s := &Server{
		Dir:     dir,
		CAFile:  filepath.Join(dir, "ssl", "cert.pem"),
		Config:  filepath.Join(dir, "dovecot.conf"),
		LogFile: filepath.Join(dir, "dovecot.log"),
		Users:   append([]User(nil), users...),
		acct:    a,
		bins:    bins,
		conns:   map[string]*imapConn{},
		nameT0:  time.Now(),
	}
	// Registered first, so it runs last: after the server has stopped.
	t.Cleanup(func() { s.removeDirs(t) })
	if err := s.prepare(); err != nil {
		t.Fatal(err)
	}
	if err := s.launch(); err != nil {
		t.Fatalf("%v\n%s", err, s.logTail(40))
	}
	t.Cleanup(func() { s.stop(t) })
	t.Logf("dovecottest: Dovecot up in %v: imap %s imaps %s pop3 %s pop3s %s, dir %s",
		time.Since(t0).Round(time.Millisecond), s.IMAPAddr, s.IMAPSAddr, s.POP3Addr, s.POP3SAddr, s.Dir)
	return s
}

// binaries are the absolute paths of the Dovecot programs we run.
type binaries struct{ dovecot, doveadm string }

// requireDovecot finds the Dovecot programs, or skips (fails on CI).
func requireDovecot(t testing.TB) binaries {
	t.Helper()
	b, err := findBinaries()
	if err == nil && !platformSupported {
		err = errors.New("dovecottest: the Dovecot harness needs a Unix system")
	}
	if err == nil {
		return b
	}
	if mustRun() {
		t.Fatalf("%v (CI or MAILARK_TEST_DOVECOT=1 is set, so this is an error; install dovecot-imapd dovecot-pop3d)", err)
	}
	t.Skipf("%v; install dovecot-imapd dovecot-pop3d to run this test", err)
	return binaries{}
}

// mustRun reports whether a missing Dovecot is an error rather than a
// reason to skip: on CI (CI set, and not "false" or "0") or when asked for
// explicitly with MAILARK_TEST_DOVECOT=1.
func mustRun() bool {
	ci, ok := os.LookupEnv("CI")
	return (ok && ci != "false" && ci != "0") || os.Getenv("MAILARK_TEST_DOVECOT") == "1"
}

// findBinaries also looks in the sbin directories, which are not on a
// normal user's PATH on Debian.
func findBinaries() (binaries, error) {
	find := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		return "", fmt.Errorf("dovecottest: %s not found", name)
	}
	dv, err1 := find("dovecot")
	da, err2 := find("doveadm")
	if err := errors.Join(err1, err2); err != nil {
		return binaries{}, err
	}
	// imap and pop3 are separate Debian packages; without them the
	// listeners come up but every login fails.
	for _, p := range []string{"imap", "pop3"} {
		if !hasServiceBinary(p) {
			return binaries{}, fmt.Errorf("dovecottest: Dovecot's %s program is missing (package dovecot-%sd)", p, p)
		}
	}
	return binaries{dovecot: dv, doveadm: da}, nil
}

// hasServiceBinary looks in the usual libexec directories of Debian (first)
// and other distributions.
func hasServiceBinary(name string) bool {
	for _, d := range []string{"/usr/lib/dovecot", "/usr/libexec/dovecot", "/usr/local/libexec/dovecot", "/usr/local/lib/dovecot", "/opt/homebrew/libexec/dovecot"} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return true
		}
	}
	return false
}

func validateUsers(users []User) error {
	if len(users) == 0 {
		return errors.New("dovecottest: Options.Users is empty; pass nil for the defaults")
	}
	seen := map[string]bool{}
	for _, u := range users {
		if u.Name == "" || strings.ContainsAny(u.Name, ":/@%\\ \t\r\n") || u.Name == "." || u.Name == ".." {
			return fmt.Errorf("dovecottest: unusable user name %q", u.Name)
		}
		if strings.ContainsAny(u.Password, ":\r\n") {
			return fmt.Errorf("dovecottest: password of %q contains ':' or a line break", u.Name)
		}
		if seen[u.Name] {
			return fmt.Errorf("dovecottest: user %q listed twice", u.Name)
		}
		seen[u.Name] = true
	}
	return nil
}

// Maildir returns the user's Maildir++ root: INBOX is cur/new/tmp there,
// folder "A/B" is the directory ".A.B" (names in modified UTF-7).
func (s *Server) Maildir(user string) string {
	return filepath.Join(s.home(user), "Maildir")
}

func (s *Server) home(user string) string { return filepath.Join(s.Dir, "home", user) }

// TLSConfig returns a new client configuration that trusts only the
// server's self-signed certificate and checks it for 127.0.0.1.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Password returns the password of a configured user.
func (s *Server) Password(user string) string {
	for _, u := range s.Users {
		if u.Name == user {
			return u.Password
		}
	}
	panic(fmt.Sprintf("dovecottest: no user %q", user))
}

// Doveadm runs "doveadm -c <config> args..." and returns its stdout; it fails
// the test if doveadm fails. With -u USER it acts on the running server's
// user through its userdb.
func (s *Server) Doveadm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.doveadm(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *Server) doveadm(args ...string) (string, error) {
	return runDoveadm(s.bins.doveadm, append([]string{"-c", s.Config}, args...), nil)
}

// runDoveadm bounds doveadm's run time: a hung doveadm must fail the test
// rather than stall the whole package until go test's timeout.
func runDoveadm(bin string, args []string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("dovecottest: doveadm %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// prepare creates the private tree, certificate and passwd file.
func (s *Server) prepare() error {
	// The mail user must be able to traverse Dir to reach its home and
	// Dovecot's sockets; MkdirTemp made it 0700.
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return fmt.Errorf("dovecottest: chmod %s: %w", s.Dir, err)
	}
	for _, d := range []string{"ssl", "state", "home"} {
		if err := os.Mkdir(filepath.Join(s.Dir, d), 0o755); err != nil {
			return fmt.Errorf("dovecottest: %w", err)
		}
	}
	// base_dir holds unix sockets, whose paths are limited to 108 bytes;
	// the longest Dovecot uses is about 30 bytes below base_dir.
	s.baseDir = filepath.Join(s.Dir, "run")
	if len(s.baseDir) > 70 {
		d, err := os.MkdirTemp("/tmp", "dvt-")
		if err != nil {
			return fmt.Errorf("dovecottest: short base_dir: %w", err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("dovecottest: chmod %s: %w", d, err)
		}
		s.baseDir = d
	}
	if err := s.acct.mkdirs(filepath.Join(s.Dir, "index"), filepath.Join(s.Dir, "control")); err != nil {
		return err
	}
	if err := writeSelfSignedCert(s.CAFile, filepath.Join(s.Dir, "ssl", "key.pem")); err != nil {
		return err
	}
	pemData, err := os.ReadFile(s.CAFile)
	if err != nil {
		return fmt.Errorf("dovecottest: %w", err)
	}
	s.roots = x509.NewCertPool()
	if !s.roots.AppendCertsFromPEM(pemData) {
		return fmt.Errorf("dovecottest: no certificate in %s", s.CAFile)
	}
	var pw strings.Builder
	for _, u := range s.Users {
		m := s.Maildir(u.Name)
		if err := s.acct.mkdirs(s.home(u.Name), m, filepath.Join(m, "cur"), filepath.Join(m, "new"), filepath.Join(m, "tmp")); err != nil {
			return err
		}
		fmt.Fprintf(&pw, "%s:{PLAIN}%s:%d:%d::%s::\n", u.Name, u.Password, s.acct.uid, s.acct.gid, s.home(u.Name))
	}
	// 0644: the auth process runs as default_internal_user, not root; the
	// passwords are test fixtures.
	if err := os.WriteFile(filepath.Join(s.Dir, "passwd"), []byte(pw.String()), 0o644); err != nil {
		return fmt.Errorf("dovecottest: write passwd: %w", err)
	}
	return nil
}

// launch picks free ports and starts the master in the foreground as our
// child. Another process may take a port between our probe and Dovecot's
// bind, so a bind failure is retried with new ports.
func (s *Server) launch() error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var ports []int
		ports, err = freePorts(4)
		if err != nil {
			return err
		}
		if err = os.WriteFile(s.Config, []byte(s.config(ports[0], ports[1], ports[2], ports[3])), 0o644); err != nil {
			return fmt.Errorf("dovecottest: write config: %w", err)
		}
		addr := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
		s.IMAPAddr, s.IMAPSAddr, s.POP3Addr, s.POP3SAddr = addr(ports[0]), addr(ports[1]), addr(ports[2]), addr(ports[3])
		// a failed attempt's log would fool bindFailed
		_ = os.Remove(s.LogFile)
		err = s.run()
		if err == nil || !s.bindFailed() {
			return err
		}
	}
	return fmt.Errorf("dovecottest: no free ports after 5 attempts: %w", err)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		// Keep all listeners open until we have n, so the ports differ.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dovecottest: find a free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (s *Server) bindFailed() bool {
	b, _ := os.ReadFile(s.LogFile)
	b2, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.stderr"))
	return bytes.Contains(b, []byte("Address already in use")) || bytes.Contains(b2, []byte("Address already in use"))
}

// run starts "dovecot -F" and waits until it is serving. Foreground mode
// keeps the master our child: we can reap it, and Pdeathsig stops it if
// the test binary dies (go test timeout, panic) instead of leaking it.
func (s *Server) run() error {
	errf, err := os.Create(filepath.Join(s.Dir, "dovecot.stderr"))
	if err != nil {
		return fmt.Errorf("dovecottest: %w", err)
	}
	defer errf.Close()
	cmd := exec.Command(s.bins.dovecot, "-F", "-c", s.Config)
	cmd.Stdout, cmd.Stderr = errf, errf
	cmd.SysProcAttr = daemonProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dovecottest: start %s: %w", s.bins.dovecot, err)
	}
	exited := make(chan struct{})
	go func() { s.waitErr = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited

	pidFile := filepath.Join(s.baseDir, "master.pid")
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("dovecottest: dovecot exited during start-up (%v)", s.waitErr)
		default:
		}
		// The master writes its pid file only after all listeners are
		// bound, so a port answering before that may be someone else's.
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) &&
			allAccept(s.IMAPAddr, s.IMAPSAddr, s.POP3Addr, s.POP3SAddr) {
			return nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return errors.New("dovecottest: dovecot did not start listening within 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func allAccept(addrs ...string) bool {
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// Stop shuts the server down now rather than in t.Cleanup, e.g. to see how
// a client copes with a server that went away. Calling it again is a no-op.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop(t)
}

// Restart stops the server if it runs and starts it again with the same
// configuration, ports and mail: for tests of resuming after a lost
// connection. Another process may have taken a port in between (rare);
// then the test fails.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop(t)
	if err := s.run(); err != nil {
		t.Fatalf("%v\n%s", err, s.logTail(40))
	}
	s.mu.Lock()
	s.stopped = false
	s.conns = map[string]*imapConn{}
	s.mu.Unlock()
}

// stop shuts Dovecot down with SIGTERM and makes sure nothing of its
// process group is left.
func (s *Server) stop(t testing.TB) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	for _, c := range s.conns {
		c.close()
	}
	s.conns = nil
	s.mu.Unlock()

	if t.Failed() {
		t.Logf("dovecottest: last lines of %s:\n%s", s.LogFile, s.logTail(60))
	} else if bad := s.logProblems(); bad != "" {
		// not fatal (a test may provoke errors on purpose), but worth seeing
		t.Logf("dovecottest: Dovecot logged problems:\n%s", bad)
	}
	// SIGTERM to the whole group, not just the master: alone, the master
	// waits up to 6 s for its idle login, log and anvil processes to
	// notice the shutdown; signalled together they all exit in ~15 ms.
	pgid := s.cmd.Process.Pid
	_ = signalGroup(pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("dovecottest: dovecot (pid %d) ignored SIGTERM for 10 s; killing it", pgid)
		s.kill()
	}
	// Children that outlive the master stay in its process group (we
	// made the master a group leader); give them a moment, then kill.
	// Zombies do not count: they wait for init to reap them.
	for i := 0; i < 100 && groupAlive(pgid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if groupAlive(pgid) {
		t.Logf("dovecottest: killing leftover processes of group %d", pgid)
		_ = signalGroup(pgid, syscall.SIGKILL)
	}
}

// kill ends the master's whole process group and reaps the master.
func (s *Server) kill() {
	_ = signalGroup(s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.exited
}

func (s *Server) removeDirs(t testing.TB) {
	if os.Getenv("DOVECOTTEST_KEEP") != "" {
		t.Logf("dovecottest: DOVECOTTEST_KEEP is set: keeping %s", s.Dir)
		return
	}
	dirs := []string{s.Dir}
	if s.baseDir != "" && !strings.HasPrefix(s.baseDir, s.Dir+string(filepath.Separator)) {
		dirs = append(dirs, s.baseDir)
	}
	for _, d := range dirs {
		var err error
		for i := 0; i < 5; i++ { // a dying process may still be writing
			if err = os.RemoveAll(d); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("dovecottest: remove %s: %v", d, err)
		}
	}
}

// logProblems returns the Error, Fatal and Panic lines of Dovecot's log.
func (s *Server) logProblems() string {
	b, _ := os.ReadFile(s.LogFile)
	var bad []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " Error: ") || strings.Contains(l, " Fatal: ") || strings.Contains(l, " Panic: ") {
			bad = append(bad, l)
		}
	}
	return strings.Join(bad, "\n")
}

// logTail returns the last n lines of Dovecot's log and start-up stderr.
func (s *Server) logTail(n int) string {
	var lines []string
	for _, f := range []string{filepath.Join(s.Dir, "dovecot.stderr"), s.LogFile} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		fh.Close()
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
