package durable

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS makes every file written on f's file system durable with one
// syncfs(2): the group commit that lets a batch of messages cost one journal
// flush instead of one fsync each. Linux has reported writeback errors from
// syncfs since 5.8.
func syncFS(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}
