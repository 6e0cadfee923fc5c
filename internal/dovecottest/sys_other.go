//go:build !unix

package dovecottest

import (
	"errors"
	"io/fs"
	"syscall"
)

// Dovecot runs on Unix only; elsewhere Start and FolderCounts skip (or fail
// on CI), and this file just keeps the package compiling.
const platformSupported = false

var errUnsupported = errors.New("dovecottest: not supported on this system")

func daemonProcAttr() *syscall.SysProcAttr   { return nil }
func signalGroup(int, syscall.Signal) error  { return errUnsupported }
func groupAlive(int) bool                    { return false }
func (account) canTraverse(fs.FileInfo) bool { return true }
