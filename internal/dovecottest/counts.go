package dovecottest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// FolderCounts reports how Dovecot sees an existing Maildir++ tree, such as
// one mailark wrote: message count per folder, keyed by IMAP name ("INBOX",
// "Archive/2019", "收件箱": '/' separator, UTF-8). It needs no running
// server, only doveadm.
//
// The tree is left exactly as it was: Dovecot gets a private mirror of it
// (directories recreated, files hard-linked, or copied where linking fails)
// and keeps its index and control files outside, since even a read-only
// status can make it create directories or move files from new/ to cur/.
func FolderCounts(t testing.TB, maildirRoot string) map[string]int {
	t.Helper()
	bins := requireDovecot(t)
	a, err := mailAccount()
	if err != nil {
		t.Fatal(err)
	}
	counts, err := folderCounts(bins, a, maildirRoot)
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

func folderCounts(bins binaries, a account, root string) (map[string]int, error) {
	root, err := filepath.Abs(root)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return nil, fmt.Errorf("dovecottest: FolderCounts: %w", err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("dovecottest: FolderCounts: %s is not a directory (%v)", root, err)
	}
	priv, err := os.MkdirTemp(a.tempRoot(), "dovecottest-counts-")
	if err != nil {
		return nil, fmt.Errorf("dovecottest: FolderCounts: %w", err)
	}
	defer os.RemoveAll(priv)
	// The mail user must reach the mirror and write to index/control.
	if err := os.Chmod(priv, 0o755); err != nil {
		return nil, fmt.Errorf("dovecottest: FolderCounts: %w", err)
	}
	mirror := filepath.Join(priv, "Maildir")
	if err := mirrorTree(root, mirror, a); err != nil {
		return nil, err
	}
	if err := a.mkdirs(filepath.Join(priv, "index"), filepath.Join(priv, "control"), filepath.Join(priv, "run")); err != nil {
		return nil, err
	}
	conf := filepath.Join(priv, "dovecot.conf")
	// No userdb: doveadm without -u takes the user from $USER and $HOME and
	// drops to mail_uid; base_dir only receives doveadm's stray sockets.
	cfg := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/run
log_path = /dev/stderr
first_valid_uid = %[2]d
last_valid_uid = %[2]d
first_valid_gid = %[3]d
last_valid_gid = %[3]d
mail_uid = %[2]d
mail_gid = %[3]d
mail_location = maildir:%[4]s:INDEX=%[1]s/index:CONTROL=%[1]s/control
namespace inbox {
  inbox = yes
  separator = /
}
`, priv, a.uid, a.gid, mirror)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("dovecottest: FolderCounts: %w", err)
	}
	env := append(os.Environ(), "HOME="+priv, "USER="+a.name)
	out, err := runDoveadm(bins.doveadm, []string{"-c", conf, "-f", "json", "mailbox", "status", "messages", "*"}, env)
	if err != nil {
		return nil, err
	}
	return parseStatusJSON(out)
}

// parseStatusJSON reads `doveadm -f json mailbox status messages` output,
// whose numbers are JSON strings and names already UTF-8.
func parseStatusJSON(out string) (map[string]int, error) {
	var rows []struct {
		Mailbox  string `json:"mailbox"`
		Messages string `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, fmt.Errorf("dovecottest: parse doveadm mailbox status output %q: %w", out, err)
	}
	counts := make(map[string]int, len(rows))
	for _, r := range rows {
		n, err := strconv.Atoi(r.Messages)
		if err != nil {
			return nil, fmt.Errorf("dovecottest: doveadm mailbox status: %q has message count %q", r.Mailbox, r.Messages)
		}
		counts[r.Mailbox] = n
	}
	return counts, nil
}

// Counts returns the message count of every folder of a user of the running
// server, keyed as FolderCounts keys them.
func (s *Server) Counts(t testing.TB, user string) map[string]int {
	t.Helper()
	counts, err := parseStatusJSON(s.Doveadm(t, "-f", "json", "mailbox", "status", "-u", user, "messages", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// mirrorTree recreates src's directories under dst (owned by the mail user,
// so Dovecot may add what it likes there) and hard-links the files. Links
// share inodes, not directory entries: whatever Dovecot renames or creates
// in the mirror leaves src's names untouched, and Dovecot never rewrites a
// message file in place.
func mirrorTree(src, dst string, a account) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("dovecottest: FolderCounts: walk %s: %w", p, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("dovecottest: FolderCounts: %w", err)
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return a.mkdirs(target)
		case d.Type()&fs.ModeSymlink != 0:
			// Dovecot would work inside a linked directory, i.e. in the
			// original tree; a linked file it only reads.
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				return fmt.Errorf("dovecottest: FolderCounts: %s is a symlink to a directory, which cannot be mirrored safely", p)
			}
			link, err := os.Readlink(p)
			if err == nil {
				err = os.Symlink(link, target)
			}
			if err != nil {
				return fmt.Errorf("dovecottest: FolderCounts: %w", err)
			}
			return nil
		case d.Type().IsRegular():
			err := os.Link(p, target)
			if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EMLINK) {
				err = copyFile(p, target, a)
			}
			if err != nil {
				return fmt.Errorf("dovecottest: FolderCounts: mirror %s: %w", p, err)
			}
			return nil
		default:
			return nil // sockets, fifos: not mail
		}
	})
}

func copyFile(src, dst string, a account) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if fi, err := in.Stat(); err == nil {
		// keep the mtime: it is the message's INTERNALDATE
		_ = os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	return a.chown(dst)
}
