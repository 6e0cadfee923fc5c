package testcorpus

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailark/mailark/internal/mutf7"
)

// Layout is how IMAP folders map to Maildir directories.
type Layout int

const (
	// MaildirPlusPlus: INBOX at the root, other folders as ".A.B" directories
	// beside it (Courier/Dovecot default), names in IMAP modified UTF-7.
	MaildirPlusPlus Layout = iota
	// MaildirFS: INBOX at the root, other folders nested as "A/B"
	// (Dovecot LAYOUT=fs), names in IMAP modified UTF-7.
	MaildirFS
)

func (l Layout) String() string {
	if l == MaildirFS {
		return "fs"
	}
	return "maildir++"
}

// ParseLayout accepts "maildir++" and "fs".
func ParseLayout(s string) (Layout, error) {
	switch s {
	case "maildir++", "maildirpp", "":
		return MaildirPlusPlus, nil
	case "fs":
		return MaildirFS, nil
	}
	return 0, fmt.Errorf("testcorpus: unknown Maildir layout %q (want maildir++ or fs)", s)
}

// Sink stores messages one by one; Write returns the path of the stored
// file relative to the sink's root.
type Sink interface {
	Write(m *Message) (string, error)
	Close() error
}

// FolderDir returns the directory of an IMAP folder ('/' separator)
// relative to the Maildir root: "" for INBOX, ".Archive.2019" or
// "Archive/2019", with components in modified UTF-7.
func FolderDir(folder string, layout Layout) (string, error) {
	if strings.EqualFold(folder, "INBOX") {
		return "", nil
	}
	parts := strings.Split(folder, "/")
	for k, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("testcorpus: bad folder name %q", folder)
		}
		if layout == MaildirPlusPlus && strings.Contains(p, ".") {
			return "", fmt.Errorf("testcorpus: folder %q has a '.', which Maildir++ uses as separator", folder)
		}
		parts[k] = mutf7.Encode(p)
	}
	if layout == MaildirFS {
		return filepath.Join(parts...), nil
	}
	return "." + strings.Join(parts, "."), nil
}

// MaildirFlags returns the Maildir info flags ("FS", "DRSab") for IMAP
// flags, given the folder's keyword table (letter 'a'+i is keywords[i]).
// Unknown keywords are appended to the table; more than 26 is an error.
func MaildirFlags(flags []string, keywords *[]string) (string, error) {
	var sys, kw []byte
	for _, f := range flags {
		switch f {
		case `\Draft`:
			sys = append(sys, 'D')
		case `\Flagged`:
			sys = append(sys, 'F')
		case `\Answered`:
			sys = append(sys, 'R')
		case `\Seen`:
			sys = append(sys, 'S')
		case `\Deleted`:
			sys = append(sys, 'T')
		default:
			if strings.HasPrefix(f, `\`) {
				continue // \Recent and unknown system flags are not stored
			}
			k := slices.Index(*keywords, f)
			if k < 0 {
				if len(*keywords) == 26 {
					return "", fmt.Errorf("testcorpus: more than 26 keywords in one folder")
				}
				*keywords = append(*keywords, f)
				k = len(*keywords) - 1
			}
			kw = append(kw, byte('a'+k))
		}
	}
	slices.Sort(sys)
	slices.Sort(kw)
	return string(slices.Compact(sys)) + string(slices.Compact(kw)), nil
}

// crlfSize is the size with bare LFs counted as CRLF (Dovecot's W=).
func crlfSize(b []byte) int {
	n := len(b)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			n++
		}
	}
	return n
}

// MaildirWriter writes a Maildir tree. Files get Dovecot-like names
// "<unix>.M<n>P<n>.mx.example.org,S=<size>,W=<crlf size>:2,<flags>" in cur/
// (new/ and no info for Message.New), and mtime = InternalDate. Keywords get
// letters a-z per folder, recorded in dovecot-keywords on Close.
type MaildirWriter struct {
	root    string
	layout  Layout
	n       int
	folders map[string]*mdFolder
	order   []string
}

type mdFolder struct {
	dir      string // relative to root
	keywords []string
}

// NewMaildirWriter creates root (and INBOX's cur/new/tmp) and returns a writer.
func NewMaildirWriter(root string, layout Layout) (*MaildirWriter, error) {
	w := &MaildirWriter{root: root, layout: layout, folders: map[string]*mdFolder{}}
	if _, err := w.AddFolder("INBOX"); err != nil {
		return nil, err
	}
	return w, nil
}

// AddFolder creates a folder's directories (also for an empty folder) and
// returns its directory relative to the root.
func (w *MaildirWriter) AddFolder(name string) (string, error) {
	if f, ok := w.folders[name]; ok {
		return f.dir, nil
	}
	dir, err := FolderDir(name, w.layout)
	if err != nil {
		return "", err
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(w.root, dir, sub), 0o755); err != nil {
			return "", err
		}
	}
	if dir != "" && w.layout == MaildirPlusPlus {
		// Courier/Dovecot mark Maildir++ subfolders with this empty file.
		if err := os.WriteFile(filepath.Join(w.root, dir, "maildirfolder"), nil, 0o644); err != nil {
			return "", err
		}
	}
	w.folders[name] = &mdFolder{dir: dir}
	w.order = append(w.order, name)
	return dir, nil
}

func (w *MaildirWriter) Write(m *Message) (string, error) {
	dir, err := w.AddFolder(m.Folder)
	if err != nil {
		return "", err
	}
	f := w.folders[m.Folder]
	info, err := MaildirFlags(m.Flags, &f.keywords)
	if err != nil {
		return "", err
	}
	w.n++
	base := fmt.Sprintf("%d.M%dP%d.%s,S=%d,W=%d", m.InternalDate.Unix(), w.n%1000000, w.n, mxHost, len(m.Raw), crlfSize(m.Raw))
	rel := filepath.Join(dir, "cur", base+":2,"+info)
	if m.New && info == "" {
		rel = filepath.Join(dir, "new", base)
	}
	path := filepath.Join(w.root, rel)
	if err := os.WriteFile(path, m.Raw, 0o644); err != nil {
		return "", err
	}
	if err := os.Chtimes(path, m.InternalDate, m.InternalDate); err != nil {
		return "", err
	}
	return rel, nil
}

// Close writes dovecot-keywords ("<index> <keyword>" lines) where keywords were used.
func (w *MaildirWriter) Close() error {
	for _, name := range w.order {
		f := w.folders[name]
		if len(f.keywords) == 0 {
			continue
		}
		var b strings.Builder
		for k, kw := range f.keywords {
			fmt.Fprintf(&b, "%d %s\n", k, kw)
		}
		if err := os.WriteFile(filepath.Join(w.root, f.dir, "dovecot-keywords"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// WriteMaildir writes msgs as a Maildir tree at root.
func WriteMaildir(root string, msgs []*Message, layout Layout) error {
	w, err := NewMaildirWriter(root, layout)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if _, err := w.Write(m); err != nil {
			return err
		}
	}
	return w.Close()
}

// EMLWriter writes one <n>.eml file per message under dir, with folders as
// (UTF-8) subdirectories: INBOX/000001.eml, Archive/2019/000002.eml.
type EMLWriter struct {
	dir string
	n   int
}

func NewEMLWriter(dir string) (*EMLWriter, error) {
	return &EMLWriter{dir: dir}, os.MkdirAll(dir, 0o755)
}

// AddFolder creates the directory of an (empty) folder.
func (w *EMLWriter) AddFolder(name string) (string, error) {
	rel, err := emlDir(name)
	if err != nil {
		return "", err
	}
	return rel, os.MkdirAll(filepath.Join(w.dir, rel), 0o755)
}

func emlDir(folder string) (string, error) {
	parts := strings.Split(folder, "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("testcorpus: bad folder name %q", folder)
		}
	}
	return filepath.Join(parts...), nil
}

func (w *EMLWriter) Write(m *Message) (string, error) {
	rel, err := w.AddFolder(m.Folder)
	if err != nil {
		return "", err
	}
	w.n++
	rel = filepath.Join(rel, fmt.Sprintf("%06d.eml", w.n))
	path := filepath.Join(w.dir, rel)
	if err := os.WriteFile(path, m.Raw, 0o644); err != nil {
		return "", err
	}
	return rel, os.Chtimes(path, m.InternalDate, m.InternalDate)
}

func (w *EMLWriter) Close() error { return nil }

// WriteEML writes msgs as .eml files under dir.
func WriteEML(dir string, msgs []*Message) error {
	w, err := NewEMLWriter(dir)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if _, err := w.Write(m); err != nil {
			return err
		}
	}
	return w.Close()
}
