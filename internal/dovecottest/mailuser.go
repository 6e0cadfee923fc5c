package dovecottest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// DefaultMailUser is the system account that owns the test mail trees when
// the tests run as root: Dovecot refuses to access mail as UID 0. It is
// created with useradd if missing. MAILARK_TEST_MAIL_USER overrides it.
const DefaultMailUser = "mailarktest"

// account is the Unix identity Dovecot uses to access mail.
type account struct {
	name     string
	group    string // name of gid
	uid, gid int
	root     bool // we run as root, so files we create must be chowned to uid:gid
}

var (
	acctOnce sync.Once
	acct     account
	acctErr  error
)

// mailAccount returns the identity for mail access: the current user when not
// root (Dovecot then runs entirely unprivileged), otherwise DefaultMailUser,
// created on first use.
func mailAccount() (account, error) {
	acctOnce.Do(func() { acct, acctErr = lookupMailAccount() })
	return acct, acctErr
}

func lookupMailAccount() (account, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return account{}, fmt.Errorf("dovecottest: current user (uid %d) has no passwd entry, which Dovecot needs: %w", os.Geteuid(), err)
		}
		return toAccount(u, false)
	}
	name := os.Getenv("MAILARK_TEST_MAIL_USER")
	if name == "" {
		name = DefaultMailUser
	}
	u, err := user.Lookup(name)
	if errors.As(err, new(user.UnknownUserError)) {
		if err := createSystemUser(name); err != nil {
			return account{}, err
		}
		u, err = user.Lookup(name)
	}
	if err != nil {
		return account{}, fmt.Errorf("dovecottest: look up mail user %q: %w", name, err)
	}
	a, err := toAccount(u, true)
	if err == nil && a.uid == 0 {
		err = fmt.Errorf("dovecottest: mail user %q has UID 0; Dovecot refuses mail access as root", name)
	}
	return a, err
}

func toAccount(u *user.User, root bool) (account, error) {
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return account{}, fmt.Errorf("dovecottest: user %q: non-numeric uid/gid: %w", u.Username, err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return account{}, fmt.Errorf("dovecottest: group of user %q: %w", u.Username, err)
	}
	return account{name: u.Username, group: g.Name, uid: uid, gid: gid, root: root}, nil
}

// createSystemUser adds a locked system account without a home. Several test
// binaries may race here (go test runs packages in parallel) and useradd
// fails while another holds the passwd lock, so retry and accept "exists".
func createSystemUser(name string) error {
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		useradd = "/usr/sbin/useradd"
	}
	var out []byte
	for attempt := 0; attempt < 10; attempt++ {
		out, err = exec.Command(useradd, "--system", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
		if err == nil {
			return nil
		}
		if _, lerr := user.Lookup(name); lerr == nil {
			return nil // created concurrently
		}
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	return fmt.Errorf("dovecottest: useradd %s: %w: %s (create it by hand: useradd --system --user-group %[1]s)", name, err, out)
}

// chown gives path to the mail user; a no-op unless we run as root.
func (a account) chown(path string) error {
	if !a.root {
		return nil
	}
	if err := os.Lchown(path, a.uid, a.gid); err != nil {
		return fmt.Errorf("dovecottest: chown %s to %s: %w", path, a.name, err)
	}
	return nil
}

// mkdirs creates each directory (and missing parents, mode 0700) owned by the
// mail user.
func (a account) mkdirs(dirs ...string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("dovecottest: mkdir %s: %w", d, err)
		}
		if err := a.chown(d); err != nil {
			return err
		}
	}
	return nil
}

// tempRoot is where private server directories go: os.TempDir(), unless
// the mail user cannot traverse it (e.g. TMPDIR under /root when running as
// root), then /tmp.
func (a account) tempRoot() string {
	d := os.TempDir()
	if !a.root {
		return d
	}
	for p := d; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return "/tmp"
		}
		if !a.canTraverse(fi) {
			return "/tmp"
		}
		if p == filepath.Dir(p) {
			return d
		}
	}
}
