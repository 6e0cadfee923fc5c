//go:build !linux

package exporters

import (
	"errors"
	"os"
)

// syncFS has no portable equivalent; callers fall back to per-file fsync.
func syncFS(*os.File) error { return errors.ErrUnsupported }
