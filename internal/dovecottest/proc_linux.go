package dovecottest

import "syscall"

// daemonProcAttr makes the Dovecot master a process-group leader, so that
// it and all its children can be signalled at once, and has the kernel send
// it SIGTERM if the test binary dies, so no server outlives its test.
func daemonProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
