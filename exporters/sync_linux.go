package exporters

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS makes every file written on f's file system durable with one
// syncfs(2): one journal flush for a whole batch of files.
func syncFS(f *os.File) error { return unix.Syncfs(int(f.Fd())) }
