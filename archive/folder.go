package archive

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mailark/mailark/internal/mutf7"
)

// Folder names in mailark are IMAP names in UTF-8 with '/' as the
// hierarchy separator, whatever the source server used; "INBOX" is always
// spelled in upper case. On disk they follow Dovecot's Maildir++ layout:
// INBOX is the account directory itself, any other folder is one
// directory ".A.B" below it with each component in modified UTF-7. A '.'
// or '\' inside a component is escaped as "\2e" / "\5c" (the convention of
// Dovecot's listescape plugin), so no name can climb out of the tree or
// collide with another.

// Inbox is the canonical name of the inbox.
const Inbox = "INBOX"

// ErrBadName reports an account or folder name mailark cannot store.
var ErrBadName = errors.New("bad name")

// CanonicalFolder checks name and returns it in canonical form.
func CanonicalFolder(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty folder name", ErrBadName)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: folder name %q is not valid UTF-8", ErrBadName, name)
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if p == "" {
			return "", fmt.Errorf("%w: folder name %q has an empty component", ErrBadName, name)
		}
		for _, r := range p {
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%w: folder name %q has a control character", ErrBadName, name)
			}
		}
		if i == 0 && strings.EqualFold(p, Inbox) {
			parts[0] = Inbox
		}
	}
	return strings.Join(parts, "/"), nil
}

// FolderDir returns the directory of a canonical folder name, relative to
// the account's Maildir root ("" for INBOX).
func FolderDir(name string) (string, error) {
	name, err := CanonicalFolder(name)
	if err != nil {
		return "", err
	}
	if name == Inbox {
		return "", nil
	}
	var b strings.Builder
	for _, p := range strings.Split(name, "/") {
		b.WriteByte('.')
		enc := mutf7.Encode(p)
		enc = strings.ReplaceAll(enc, `\`, `\5c`)
		enc = strings.ReplaceAll(enc, ".", `\2e`)
		b.WriteString(enc)
	}
	if b.Len() > 250 {
		return "", fmt.Errorf("%w: folder name %q is too long for one Maildir++ directory", ErrBadName, name)
	}
	return b.String(), nil
}

// FolderFromDir is the inverse of FolderDir: ".Archive.2019" gives
// "Archive/2019" and "" gives INBOX.
func FolderFromDir(dir string) (string, error) {
	if dir == "" {
		return Inbox, nil
	}
	if !strings.HasPrefix(dir, ".") || len(dir) < 2 {
		return "", fmt.Errorf("%w: %q is not a Maildir++ folder directory", ErrBadName, dir)
	}
	parts := strings.Split(dir[1:], ".")
	for i, p := range parts {
		p = strings.ReplaceAll(p, `\2e`, ".")
		p = strings.ReplaceAll(p, `\5c`, `\`)
		dec, err := mutf7.Decode(p)
		if err != nil {
			return "", fmt.Errorf("%w: decoding folder directory %q: %v", ErrBadName, dir, err)
		}
		parts[i] = dec
	}
	return CanonicalFolder(strings.Join(parts, "/"))
}

// checkAccount allows names that are safe as one directory name and in a
// folder path shown to IMAP clients.
func checkAccount(name string) error {
	if name == "" || len(name) > 64 || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("%w: account name %q: want 1-64 characters of A-Z a-z 0-9 . _ @ + -, not starting with . or -", ErrBadName, name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r)
		if !ok {
			return fmt.Errorf("%w: account name %q: want 1-64 characters of A-Z a-z 0-9 . _ @ + -, not starting with . or -", ErrBadName, name)
		}
	}
	return nil
}
