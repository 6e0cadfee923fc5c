package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by Open when another process holds the archive.
var ErrLocked = errors.New("archive is locked by another process")

// LockedError names the process that holds the lock, so that the message a
// user sees says whom to wait for.
type LockedError struct {
	Path string
	PID  int // 0 when unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("archive %s is in use by mailark process %d (another import, or a running server); try again when it has finished", filepath.Dir(e.Path), e.PID)
	}
	return fmt.Sprintf("archive %s is in use by another mailark process; try again when it has finished", filepath.Dir(e.Path))
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// lockFile is an flock(2) on ARCHIVE/.lock. The kernel drops it when the
// process dies, so a killed import never leaves a stale lock behind.
type lockFile struct{ f *os.File }

func acquireLock(path string) (*lockFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &LockedError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	// The pid is only a hint for the error message above.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &lockFile{f: f}, nil
}

func (l *lockFile) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Unlock explicitly: closing drops the flock only with the last
	// descriptor of the open file, and a child being forked by another
	// goroutine holds a copy until its exec (O_CLOEXEC), which left the
	// archive locked for a moment after Close.
	f := l.f
	l.f = nil
	uerr := unix.Flock(int(f.Fd()), unix.LOCK_UN)
	err := f.Close()
	if uerr != nil {
		return fmt.Errorf("unlocking %s: %w", f.Name(), uerr)
	}
	return err
}
