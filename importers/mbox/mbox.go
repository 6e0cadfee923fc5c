// Package mbox imports mbox files (mboxrd by default, mboxo on request)
// through the project's own streaming codec in package mbox. The From_
// line's date becomes the internal date; Google Takeout's X-Gmail-Labels
// become folders and flags; Thunderbird's X-Mozilla-Status and the
// Status/X-Status headers of mutt and pine become flags.
//
// An interrupted import resumes at the byte offset after the last message
// that was committed, as long as the file still starts with the same bytes.
package mbox

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/mbox"
)

// Options configure a Source.
type Options struct {
	Format mbox.Format
	// Labels maps X-Gmail-Labels to folders (Google Takeout). On by default
	// in the command; off, every message goes to the importer's folder.
	Labels bool
}

// Source reads one mbox file.
type Source struct {
	path    string
	f       *os.File
	r       *mbox.Reader
	opts    Options
	state   string // sync_state source key
	finger  string // fingerprint of the file's first 64 KiB, once computed
	cur     *mbox.Message
	size    int64
	resumed int64
}

var _ importers.Source = (*Source)(nil)
var _ importers.Checkpointer = (*Source)(nil)

// StateSource is the sync_state key under which the resume offset of the
// file at path is kept.
func StateSource(path string) string { return "mbox:" + path }

// Open opens path. resume is the value the previous run checkpointed (""
// for none): when its fingerprint matches the file, reading starts at the
// saved offset.
func Open(path string, resume string, opts Options) (*Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("opening mbox: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening mbox: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("opening mbox: %s is a directory (for a Maildir use 'import maildir')", path)
	}
	s := &Source{path: abs, f: f, opts: opts, state: StateSource(abs), size: st.Size()}
	var off int64
	if fp, offs, ok := strings.Cut(resume, " "); ok {
		if n, err := strconv.ParseInt(offs, 10, 64); err == nil && n > 0 && n <= st.Size() {
			if cur, err := s.fingerprint(n); err == nil && cur == fp {
				off = n
			}
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seeking in %s: %w", path, err)
	}
	s.resumed = off
	s.r = mbox.NewReader(f, mbox.ReaderOptions{Format: opts.Format, BaseOffset: off})
	return s, nil
}

// fingerprint identifies the file by its first min(n, 64 KiB) bytes, n
// being the offset checkpointed: the part before a checkpoint does not
// change when an mbox grows, but does when the file is replaced.
func (s *Source) fingerprint(n int64) (string, error) {
	n = min(n, 64<<10)
	if n == 64<<10 && s.finger != "" {
		return s.finger, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(s.f, 0, n)); err != nil {
		return "", fmt.Errorf("reading %s: %w", s.path, err)
	}
	fp := hex.EncodeToString(h.Sum(nil)[:16])
	if n == 64<<10 {
		s.finger = fp
	}
	return fp, nil
}

// Resumed returns the offset reading started at (0 for a fresh start).
func (s *Source) Resumed() int64 { return s.resumed }

// Total returns the bytes left to read.
func (s *Source) Total() int64 { return s.size - s.resumed }

// Next returns the next message.
func (s *Source) Next(ctx context.Context) (*importers.Message, error) {
	m, err := s.r.Next()
	if err == io.EOF {
		return nil, io.EOF
	}
	var fe *mbox.FormatError
	if errors.As(err, &fe) {
		// Not a message; the reader skips to the next separator.
		return nil, &importers.MessageError{Position: fmt.Sprintf("mbox:%s@%d", s.path, fe.Offset), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.path, err)
	}
	s.cur = m
	im := &importers.Message{InternalDate: m.Date, Position: fmt.Sprintf("mbox:%s@%d", s.path, m.Offset)}
	br := bufio.NewReaderSize(m.Body, 64<<10)
	head, _ := br.Peek(64 << 10)
	h := scanHeader(head)
	im.Flags = h.flags()
	if s.opts.Labels && h.labels != nil {
		folders, flags := labelsToFolders(h.labels)
		im.Folder = folders[0]
		im.AlsoIn = folders[1:]
		im.Flags = append(im.Flags, flags...)
		if !h.hasUnread && containsFold(h.labels, "Opened") {
			im.Flags = append(im.Flags, `\Seen`)
		}
	}
	im.Body = &tailCheck{r: br, m: im}
	return im, nil
}

// Checkpoint is the offset after the message just delivered.
func (s *Source) Checkpoint() (string, string, string) {
	end := s.cur.End()
	if end < 0 {
		end = s.cur.Offset
	}
	fp, err := s.fingerprint(end)
	if err != nil {
		fp = "-" // never matches: the next run starts over, and dedup keeps it exact
	}
	return s.state, "offset", fp + " " + strconv.FormatInt(end, 10)
}

// Close closes the file.
func (s *Source) Close() error { return s.f.Close() }

// tailCheck notes a message that does not end in a newline: in an mbox
// only a truncated last message can, and it is stored as it is.
type tailCheck struct {
	r    io.Reader
	m    *importers.Message
	last byte
	n    int64
}

func (t *tailCheck) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.last = p[n-1]
		t.n += int64(n)
	}
	if err == io.EOF && t.n > 0 && t.last != '\n' {
		t.m.Warnings = append(t.m.Warnings, "message does not end with a newline (truncated file?); stored as it is")
		t.n = 0 // warn once
	}
	return n, err
}
