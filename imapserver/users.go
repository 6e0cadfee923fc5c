package imapserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The users file maps IMAP users to password hashes and archive accounts,
// one user a line, htpasswd style:
//
//	# comment
//	NAME:BCRYPT-HASH:ACCOUNT,ACCOUNT
//
// ACCOUNTS "*" means every account of the archive. Passwords are never
// stored, only bcrypt hashes; the file is written 0600, atomically.

// User is one line of the users file.
type User struct {
	Name     string
	Hash     string   // bcrypt
	Accounts []string // ["*"] for every account
}

// AllAccounts is the Accounts value that maps a user to every account.
const AllAccounts = "*"

// ErrBadUser reports a user name or account list the file cannot hold.
var ErrBadUser = errors.New("bad user")

// CheckUserName allows 1-64 characters of A-Z a-z 0-9 . _ @ + -.
func CheckUserName(name string) error {
	if name == "" || len(name) > 64 || !nameChars(name) {
		return fmt.Errorf("%w: user name %q: want 1-64 characters of A-Z a-z 0-9 . _ @ + -", ErrBadUser, name)
	}
	return nil
}

func nameChars(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)) {
			return false
		}
	}
	return true
}

// CheckAccounts checks an account list: "*" alone, or account names as
// the archive allows them.
func CheckAccounts(accounts []string) error {
	if len(accounts) == 0 {
		return fmt.Errorf("%w: no accounts", ErrBadUser)
	}
	if slices.Contains(accounts, AllAccounts) {
		if len(accounts) > 1 {
			return fmt.Errorf("%w: %q means every account and stands alone", ErrBadUser, AllAccounts)
		}
		return nil
	}
	for _, a := range accounts {
		if a == "" || len(a) > 64 || a[0] == '.' || a[0] == '-' || !nameChars(a) {
			return fmt.Errorf("%w: account name %q", ErrBadUser, a)
		}
	}
	return nil
}

// HashPassword returns the bcrypt hash of password at cost (0: bcrypt's
// default).
func HashPassword(password []byte, cost int) (string, error) {
	if len(password) == 0 {
		return "", fmt.Errorf("%w: empty password", ErrBadUser)
	}
	if len(password) > 72 {
		return "", fmt.Errorf("%w: password longer than 72 bytes (bcrypt's limit)", ErrBadUser)
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

// ParseUsers reads a users file.
func ParseUsers(r io.Reader) ([]User, error) {
	var out []User
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want NAME:HASH:ACCOUNTS", n)
		}
		u := User{Name: f[0], Hash: f[1], Accounts: strings.Split(f[2], ",")}
		if err := CheckUserName(u.Name); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if err := CheckAccounts(u.Accounts); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if _, err := bcrypt.Cost([]byte(u.Hash)); err != nil {
			return nil, fmt.Errorf("line %d: user %s: the password hash is not bcrypt", n, u.Name)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("line %d: user %s appears twice", n, u.Name)
		}
		seen[u.Name] = true
		out = append(out, u)
	}
	return out, sc.Err()
}

// ReadUsersFile reads path; a missing file is an empty list.
func ReadUsersFile(path string) ([]User, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading users file: %w", err)
	}
	defer f.Close()
	users, err := ParseUsers(f)
	if err != nil {
		return nil, fmt.Errorf("reading users file %s: %w", path, err)
	}
	return users, nil
}

// WriteUsersFile replaces path with users: a temporary file in the same
// directory, 0600, synced, renamed over the old one, directory synced.
func WriteUsersFile(path string, users []User) error {
	var b bytes.Buffer
	b.WriteString("# mailark IMAP users: NAME:BCRYPT-HASH:ACCOUNTS (* = every account)\n")
	b.WriteString("# Edit with 'mailark users add|remove'.\n")
	for _, u := range users {
		fmt.Fprintf(&b, "%s:%s:%s\n", u.Name, u.Hash, strings.Join(u.Accounts, ","))
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".users-*.tmp")
	if err != nil {
		return fmt.Errorf("writing users file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing users file: %w", err)
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing users file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing users file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing users file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing users file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// userDB serves lookups from a users file, reread when it changes, so
// that 'mailark users add' takes effect without a restart.
type userDB struct {
	path  string
	mu    sync.Mutex
	mtime time.Time
	size  int64
	users map[string]User
	err   error
}

func newUserDB(path string) (*userDB, error) {
	db := &userDB{path: path}
	if _, _, err := db.lookup(""); err != nil {
		return nil, err
	}
	return db, nil
}

// lookup returns the user called name.
func (db *userDB) lookup(name string) (User, bool, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	fi, err := os.Stat(db.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		db.users, db.err, db.mtime, db.size = nil, nil, time.Time{}, -1
	case err != nil:
		return User{}, false, fmt.Errorf("reading users file: %w", err)
	case db.users == nil && db.err == nil || !fi.ModTime().Equal(db.mtime) || fi.Size() != db.size:
		list, err := ReadUsersFile(db.path)
		db.mtime, db.size, db.err = fi.ModTime(), fi.Size(), err
		if err == nil {
			db.users = make(map[string]User, len(list))
			for _, u := range list {
				db.users[u.Name] = u
			}
		}
	}
	if db.err != nil {
		return User{}, false, db.err
	}
	u, ok := db.users[name]
	return u, ok, nil
}
