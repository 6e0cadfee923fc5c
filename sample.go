// Package mailark holds what the whole module shares: the bundled sample
// mail that 'mailark demo' and the tests import.
package mailark

import (
	"archive/tar"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The sample Maildir++ tree is kept as a tar: Maildir file names contain
// ':', which Go module zips and go:embed refuse as file names.
//
//go:embed testdata/sample/maildir.tar
var sampleTar []byte

// SampleManifest is the sample's manifest.jsonl (see testdata/sample/README.md).
//
//go:embed testdata/sample/manifest.jsonl
var SampleManifest []byte

// ExtractSample writes the sample Maildir++ tree to dir/maildir, with the
// files' mtimes (their internal dates) restored, and returns its path.
func ExtractSample(dir string) (string, error) {
	tr := tar.NewReader(bytes.NewReader(sampleTar))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading sample: %w", err)
		}
		name := filepath.Clean(h.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return "", errors.New("reading sample: unsafe path " + h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o700); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return "", err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return "", fmt.Errorf("reading sample: %w", err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				return "", err
			}
			if err := os.Chtimes(path, h.ModTime, h.ModTime); err != nil {
				return "", err
			}
		}
	}
	return filepath.Join(dir, "maildir"), nil
}
