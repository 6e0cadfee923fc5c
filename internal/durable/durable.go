// Package durable holds the two fsync primitives every writer of mailark
// uses (the archive's deliveries, the file exporters): make a batch of new
// files durable, then the directories their names are in.
package durable

import (
	"errors"
	"fmt"
	"os"
)

// Files makes the data of the named files durable: one syncfs(2) for all
// of them where the system has it (a group commit: one journal flush for a
// batch), one fsync each otherwise. Linux has reported writeback errors
// from syncfs since 5.8.
func Files(paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	f, err := os.Open(paths[0])
	if err != nil {
		return fmt.Errorf("syncing %s: %w", paths[0], err)
	}
	err = syncFS(f)
	f.Close()
	if err == nil {
		return nil
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("syncing the file system of %s: %w", paths[0], err)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("syncing %s: %w", p, err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("syncing %s: %w", p, err)
		}
	}
	return nil
}

// Dir makes a directory's entries (renames, links) durable.
func Dir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
