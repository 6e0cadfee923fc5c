//go:build !linux

package durable

import (
	"errors"
	"os"
)

// syncFS has no portable equivalent; callers fall back to per-file fsync.
func syncFS(f *os.File) error { return errors.ErrUnsupported }
