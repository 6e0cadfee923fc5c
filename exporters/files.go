package exporters

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Files written by the file exporters follow the archive's rule: write to
// a temporary name in the target directory, make the data durable, rename,
// make the directory durable. A reader never sees half a file, and a crash
// leaves at worst a stray temporary file, which the next run removes.

// TmpSuffix ends the name of every temporary file an exporter writes.
const TmpSuffix = ".tmp-mailark"

// SyncDir makes a directory's entries durable.
func SyncDir(dir string) error {
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

// SyncFiles makes the data of the named files durable: one syncfs(2) for
// all of them where the system has it, one fsync each otherwise.
func SyncFiles(paths []string) error {
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

// WriteFileAtomic writes a small file durably under its final name.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + TmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// ManifestLine is one line of a SHA-256 manifest in the format of GNU
// sha256sum (and 'sha256sum -c'): the hex digest, two spaces, the name. A
// name with a backslash or a line break is escaped the way sha256sum does:
// the line starts with a backslash, and those characters become \\ and \n.
func ManifestLine(sum [32]byte, name string) string {
	prefix := ""
	if strings.ContainsAny(name, "\\\n\r") {
		prefix = `\`
		name = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`).Replace(name)
	}
	return fmt.Sprintf("%s%x  %s\n", prefix, sum, name)
}
