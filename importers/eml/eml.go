// Package eml imports .eml files: single files given by name, and
// directories of them. A file directly in a given directory goes to INBOX,
// one in a subdirectory "A/B" to folder "A/B" (the layout 'mailark export
// eml' writes), unless the caller fixes the folder.
package eml

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
)

type file struct{ path, folder string }

// Source reads .eml files.
type Source struct {
	files []file
	i     int
	cur   *os.File
	bytes int64
}

var _ importers.Source = (*Source)(nil)

// Open collects the files named by paths. Inside directories only names
// ending in .eml (any case) count; a file named explicitly always counts.
func Open(paths []string) (*Source, error) {
	s := &Source{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", p, err)
		}
		if !st.IsDir() {
			s.files = append(s.files, file{path: p, folder: archive.Inbox})
			s.bytes += st.Size()
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() || !strings.EqualFold(filepath.Ext(path), ".eml") {
				return nil
			}
			rel, err := filepath.Rel(p, filepath.Dir(path))
			if err != nil {
				return err
			}
			folder := archive.Inbox
			if rel != "." {
				folder = filepath.ToSlash(rel)
			}
			if info, err := d.Info(); err == nil {
				s.bytes += info.Size()
			}
			s.files = append(s.files, file{path: path, folder: folder})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
	}
	return s, nil
}

// Total returns the number of files and bytes found by Open.
func (s *Source) Total() (int64, int64) { return int64(len(s.files)), s.bytes }

// Next opens the next file. Its internal date is the Date header, or the
// file's mtime when there is none.
func (s *Source) Next(ctx context.Context) (*importers.Message, error) {
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
	if s.i >= len(s.files) {
		return nil, io.EOF
	}
	f := s.files[s.i]
	s.i++
	pos := "eml:" + f.path
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, &importers.MessageError{Position: pos, Err: err}
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, &importers.MessageError{Position: pos, Err: err}
	}
	s.cur = fh
	return &importers.Message{Body: fh, Folder: f.folder, DateFallback: st.ModTime(), Position: pos}, nil
}

// Close releases the open file.
func (s *Source) Close() error {
	if s.cur != nil {
		return s.cur.Close()
	}
	return nil
}
