package exporters

import (
	"fmt"
	"github.com/mailark/mailark/internal/durable"
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
	return durable.Dir(filepath.Dir(path))
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
