package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// folder returns the catalog row and the Maildir of (account, name),
// creating both on first use. UIDVALIDITY is the creation time, the usual
// choice (Dovecot does the same): a recreated folder gets a new one.
func (w *Writer) folder(ctx context.Context, account, name string) (*folderInfo, error) {
	k := folderKey{account, name}
	if fi, ok := w.folders[k]; ok {
		return fi, nil
	}
	rel, err := FolderDir(name)
	if err != nil {
		return nil, err
	}
	acctDir := filepath.Join(w.a.MaildirRoot(), account)
	dir := filepath.Join(acctDir, rel)
	if err := makeMaildir(acctDir, false); err != nil {
		return nil, err
	}
	if rel != "" {
		if err := makeMaildir(dir, true); err != nil {
			return nil, err
		}
	}
	if _, err := w.exec(ctx, `INSERT OR IGNORE INTO folders (account, name, uidvalidity) VALUES (?, ?, ?)`,
		account, name, uint32(time.Now().Unix())); err != nil {
		return nil, fmt.Errorf("creating folder %s/%s: %w", account, name, err)
	}
	fi := &folderInfo{dir: dir}
	if err := w.queryRow(ctx, `SELECT id FROM folders WHERE account = ? AND name = ?`, account, name).Scan(&fi.id); err != nil {
		return nil, fmt.Errorf("reading folder %s/%s: %w", account, name, err)
	}
	w.folders[k] = fi
	return fi, nil
}

// makeMaildir creates dir/{cur,new,tmp}; Maildir++ subfolders also get
// the empty "maildirfolder" marker that Courier and Dovecot write.
func makeMaildir(dir string, sub bool) error {
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("creating maildir %s: %w", dir, err)
		}
	}
	if sub {
		marker := filepath.Join(dir, "maildirfolder")
		if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(marker, nil, 0o600); err != nil {
				return fmt.Errorf("creating %s: %w", marker, err)
			}
		}
	}
	return nil
}

// cleanTmp removes what dead writers left in tmp/ directories.
func (a *Archive) cleanTmp() error {
	root := a.MaildirRoot()
	accounts, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading %s: %w", root, err)
	}
	for _, acct := range accounts {
		if !acct.IsDir() {
			continue
		}
		adir := filepath.Join(root, acct.Name())
		dirs := []string{adir}
		subs, err := os.ReadDir(adir)
		if err != nil {
			return fmt.Errorf("reading %s: %w", adir, err)
		}
		for _, s := range subs {
			if s.IsDir() && strings.HasPrefix(s.Name(), ".") {
				dirs = append(dirs, filepath.Join(adir, s.Name()))
			}
		}
		for _, d := range dirs {
			tmp := filepath.Join(d, "tmp")
			ents, err := os.ReadDir(tmp)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if strings.HasSuffix(e.Name(), ".mailark") || strings.HasSuffix(e.Name(), ".copy") {
					os.Remove(filepath.Join(tmp, e.Name()))
				}
			}
		}
	}
	return nil
}
