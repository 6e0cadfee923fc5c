// Package maildir imports an existing Maildir tree: Maildir++ (Dovecot,
// Courier: INBOX at the root, ".A.B" subfolders) or the nested "fs"
// layout (A/B/cur). Folders come from the tree, flags from the file names
// (and Dovecot's dovecot-keywords file), the internal date from the
// file's mtime.
//
// The source is only read. go-maildir is not used here: its Walk skips
// new/ and Unseen renames files in the source, and an importer must
// neither miss unseen mail nor touch the tree it reads.
package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/mutf7"
)

type file struct {
	folder string
	path   string
	flags  []string
	ref    string // path below the root, size and mtime: changes when the file does
}

// Source reads a Maildir tree.
type Source struct {
	account string
	known   map[string]archive.ID
	root    string
	files   []file
	i       int
	cur     *os.File
	bytes   int64
}

var _ importers.Source = (*Source)(nil)

// Open scans root. It fails when root is not a Maildir (no cur/ at the root
// and no Maildir folder below it).
func Open(root string) (*Source, error) {
	s := &Source{root: root}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("opening maildir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("opening maildir: %s is not a directory", root)
	}
	folders, err := findFolders(root)
	if err != nil {
		return nil, err
	}
	if len(folders) == 0 {
		return nil, fmt.Errorf("opening maildir: %s has no cur/ or new/ directory in it or in any folder below it", root)
	}
	for _, f := range folders {
		if err := s.scanFolder(f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SourceName is the catalog source under which the files of the tree at
// root, imported into account, are recorded (archive.Meta.Source).
func SourceName(account, root string) string {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return "maildir:" + account + ":" + root
}

// SkipKnown makes the source recognise files recorded by an earlier import
// into account (refs from archive.SourceRefs(SourceName(account, root))):
// they are reported as already archived without being read, which makes a
// rerun over an unchanged tree cost a directory listing. A file whose size
// or mtime changed is read again (and deduplicated by content).
func (s *Source) SkipKnown(account string, known map[string]archive.ID) {
	s.account, s.known = account, known
}

// Total returns the number of messages and bytes found by Open.
func (s *Source) Total() (int64, int64) { return int64(len(s.files)), s.bytes }

type folderDir struct{ name, dir string }

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

// findFolders recognises both layouts: ".A.B" siblings of the root's cur/
// (Maildir++) and nested directories with their own cur/ (fs layout).
func findFolders(root string) ([]folderDir, error) {
	var out []folderDir
	if isMaildir(root) {
		out = append(out, folderDir{archive.Inbox, root})
	}
	var walk func(dir string, prefix []string) error
	walk = func(dir string, prefix []string) error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("reading %s: %w", dir, err)
		}
		for _, e := range ents {
			n := e.Name()
			if !e.IsDir() || n == "cur" || n == "new" || n == "tmp" {
				continue
			}
			p := filepath.Join(dir, n)
			if len(prefix) == 0 && strings.HasPrefix(n, ".") {
				if n == "." || n == ".." || !isMaildir(p) {
					continue
				}
				out = append(out, folderDir{plusName(n), p})
				continue
			}
			if strings.HasPrefix(n, ".") {
				continue
			}
			path := append(append([]string{}, prefix...), decodeName(n))
			if isMaildir(p) {
				out = append(out, folderDir{strings.Join(path, "/"), p})
			}
			if err := walk(p, path); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, nil); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// plusName turns a Maildir++ directory name into a folder name; names that
// are not valid modified UTF-7 (trees written with UTF-8 names) are kept
// as they are.
func plusName(dir string) string {
	if name, err := archive.FolderFromDir(dir); err == nil {
		return name
	}
	return strings.ReplaceAll(dir[1:], ".", "/")
}

func decodeName(n string) string {
	if d, err := mutf7.Decode(n); err == nil {
		return d
	}
	return n
}

func (s *Source) scanFolder(f folderDir) error {
	keywords := readKeywords(filepath.Join(f.dir, "dovecot-keywords"))
	for _, sub := range []string{"cur", "new"} {
		d := filepath.Join(f.dir, sub)
		ents, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", d, err)
		}
		for _, e := range ents {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			path := filepath.Join(d, e.Name())
			ref := ""
			if info, err := e.Info(); err == nil {
				s.bytes += info.Size()
				if rel, err := filepath.Rel(s.root, path); err == nil {
					ref = fmt.Sprintf("%s|%d|%d", filepath.ToSlash(rel), info.Size(), info.ModTime().UnixNano())
				}
			}
			s.files = append(s.files, file{
				folder: f.name,
				path:   path,
				ref:    ref,
				flags:  nameFlags(e.Name(), keywords),
			})
		}
	}
	return nil
}

// nameFlags reads the flags in a Maildir file name: system flags from the
// upper-case letters after ":2," and keywords from Dovecot's lower-case
// letters mapped by dovecot-keywords.
func nameFlags(name string, keywords map[byte]string) []string {
	_, info, ok := strings.Cut(name, ":2,")
	if !ok {
		// Some tools use "!2," where ':' is not allowed in file names.
		if _, info, ok = strings.Cut(name, "!2,"); !ok {
			return nil
		}
	}
	flags := archive.FlagsFromInfo(info)
	for i := 0; i < len(info); i++ {
		if kw, ok := keywords[info[i]]; ok {
			flags = append(flags, kw)
		}
	}
	return archive.NormalizeFlags(flags)
}

// readKeywords parses dovecot-keywords: lines "<index> <keyword>", where
// index 0 is letter 'a'.
func readKeywords(path string) map[byte]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[byte]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		num, kw, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n >= 26 || kw == "" {
			continue
		}
		out[byte('a'+n)] = kw
	}
	return out
}

// Next opens the next message file.
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
	pos := "maildir:" + f.path
	var source string
	if s.known != nil && f.ref != "" {
		source = SourceName(s.account, s.root)
		if _, ok := s.known[f.ref]; ok {
			return &importers.Message{Known: true, Folder: f.folder, Position: pos}, nil
		}
	}
	fh, err := os.Open(f.path)
	if err != nil {
		// A file moved away by a mail client meanwhile (new/ → cur/) is
		// reported, not fatal: the rerun finds it under its new name.
		return nil, &importers.MessageError{Position: pos, Err: err}
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, &importers.MessageError{Position: pos, Err: err}
	}
	s.cur = fh
	return &importers.Message{
		Body:         fh,
		Folder:       f.folder,
		Flags:        f.flags,
		InternalDate: st.ModTime(),
		Position:     pos,
		Source:       source,
		Ref:          f.ref,
	}, nil
}

// Close releases the open file.
func (s *Source) Close() error {
	if s.cur != nil {
		return s.cur.Close()
	}
	return nil
}
