//go:build unix && !linux

package dovecottest

import "syscall"

// daemonProcAttr makes the Dovecot master a process-group leader, so that
// it and all its children can be signalled at once. (Only Linux can also
// stop it when the test binary dies.)
func daemonProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
