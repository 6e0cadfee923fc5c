package imap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mailark/mailark/archive"
)

// divisionSlash is what the IMAP importer puts for a '/' inside a name
// component of a server whose delimiter is not '/'; on the way out it
// becomes '/' again where the target's delimiter allows.
const divisionSlash = "\u2215"

// ErrName reports a folder that cannot be named on the target.
var ErrName = errors.New("folder cannot be named on the target")

// Namer turns a source (account, folder) into the target's mailbox name:
// UTF-8 (imapclient encodes modified UTF-7 on the wire itself, or sends
// UTF-8 where the server has UTF8=ACCEPT), with the target's hierarchy
// delimiter and personal namespace prefix.
type Namer struct {
	Prefix    string    // see Options.Prefix
	FolderMap []Mapping // see Options.FolderMap
	Delim     rune      // the target's delimiter (LIST "" ""); 0: a flat server
	NSPrefix  string    // the personal namespace's prefix ("INBOX." on some servers), already in server form
}

// Canonical returns the target name in canonical form ('/' between
// levels), before delimiter and namespace: what --folder-map and --prefix
// make of the source folder.
func (n Namer) Canonical(account, folder string) (string, error) {
	for _, m := range n.FolderMap {
		if folder == m.Src {
			return m.Dst, nil
		}
		if rest, ok := strings.CutPrefix(folder, m.Src+"/"); ok {
			return archive.CanonicalFolder(m.Dst + "/" + rest)
		}
	}
	if n.Prefix == "" {
		return folder, nil
	}
	p := strings.Trim(strings.ReplaceAll(n.Prefix, "%a", account), "/")
	return archive.CanonicalFolder(p + "/" + folder)
}

// Mailbox returns the target's name for a source folder.
func (n Namer) Mailbox(account, folder string) (string, error) {
	canon, err := n.Canonical(account, folder)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrName, err)
	}
	if canon == archive.Inbox {
		return archive.Inbox, nil
	}
	parts := strings.Split(canon, "/")
	if n.Delim == 0 && len(parts) > 1 {
		return "", fmt.Errorf("%w: %q has levels, but the server has no hierarchy (use --folder-map)", ErrName, canon)
	}
	for i, p := range parts {
		if n.Delim != '/' {
			p = strings.ReplaceAll(p, divisionSlash, "/")
		}
		if n.Delim != 0 && strings.ContainsRune(p, n.Delim) {
			return "", fmt.Errorf("%w: %q contains the server's hierarchy delimiter %q (use --folder-map)", ErrName, p, n.Delim)
		}
		parts[i] = p
	}
	name := strings.Join(parts, string(n.Delim))
	// "INBOX/x" on a server whose namespace is "INBOX." is already inside it.
	if n.NSPrefix != "" && !strings.HasPrefix(strings.ToUpper(name), strings.ToUpper(n.NSPrefix)) {
		name = n.NSPrefix + name
	}
	return name, nil
}
