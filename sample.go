// Package mailark holds what the whole module shares: the bundled sample
// mail that 'mailark demo' and the tests import.
package mailark

import (
	"archive/tar"
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// SampleTagged returns, sorted, the IDs (hex SHA-256) of the sample
// messages whose manifest entry carries tag, e.g. "needle:quokka": the
// answers a search of the sample must give, from the generator, not from
// the code under test.
func SampleTagged(tag string) ([]string, error) {
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(SampleManifest))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			ID   string
			Tags []string
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("reading the sample manifest: %w", err)
		}
		if slices.Contains(e.Tags, tag) {
			set[e.ID] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
