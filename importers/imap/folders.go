package imap

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/mailark/mailark/archive"
)

// folder is one server folder selected for import.
type folder struct {
	mailbox string // the server's name, UTF-8 (imapclient decodes modified UTF-7)
	name    string // canonical: '/' separator, what the archive files it under
	source  string // sync_state and source_refs source
	special string // special-use attributes, for the report ("\Sent")

	// The state saved by the previous run.
	savedValidity uint32
	savedLast     uint32
	savedFailed   []uint32

	validity uint32 // at the first EXAMINE of this run; set before any fetch job exists

	rep     *FolderReport
	aborted atomic.Bool // UIDVALIDITY changed during the run: no more work here
}

// divisionSlash replaces '/' inside a name component of a server whose
// delimiter is not '/'.
const divisionSlash = "\u2215"

// CanonicalName converts a server folder name (UTF-8, as imapclient
// returns it) with hierarchy delimiter delim (0: flat) into mailark's
// canonical form.
func CanonicalName(mailbox string, delim rune) (string, error) {
	if strings.EqualFold(mailbox, archive.Inbox) {
		return archive.Inbox, nil
	}
	parts := []string{mailbox}
	if delim != 0 {
		parts = strings.Split(mailbox, string(delim))
	}
	if delim != '/' {
		for i, p := range parts {
			parts[i] = strings.ReplaceAll(p, "/", divisionSlash)
		}
	}
	return archive.CanonicalFolder(strings.Join(parts, "/"))
}

func selected(o *Options, name string) bool {
	if len(o.Include) > 0 {
		in := false
		for _, p := range o.Include {
			if ok, _ := archive.MatchFolder(p, name); ok {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	for _, p := range o.Exclude {
		if ok, _ := archive.MatchFolder(p, name); ok {
			return false
		}
	}
	return true
}

// specialUse are the RFC 6154 attributes worth naming in the report.
var specialUse = []imap.MailboxAttr{imap.MailboxAttrAll, imap.MailboxAttrArchive, imap.MailboxAttrDrafts,
	imap.MailboxAttrFlagged, imap.MailboxAttrJunk, imap.MailboxAttrSent, imap.MailboxAttrTrash}

// listFolders runs LIST "" "*" and returns the folders to import, INBOX
// first, then by name. Folders whose names mailark cannot store are
// returned as problems.
func listFolders(s *session, o *Options) ([]*folder, []folderProblem, error) {
	var lo *imap.ListOptions
	caps := s.c.Caps()
	if caps.Has(imap.CapListExtended) && caps.Has(imap.CapSpecialUse) {
		lo = &imap.ListOptions{ReturnSpecialUse: true}
	}
	s.conn.arm()
	list, err := s.c.List("", "*", lo).Collect()
	s.conn.disarm()
	if err != nil {
		return nil, nil, s.annotate(fmt.Errorf("listing folders: %w", err))
	}
	var out []*folder
	var probs []folderProblem
	byName := map[string]*folder{}
	for _, m := range list {
		if slices.Contains(m.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(m.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		name, err := CanonicalName(m.Mailbox, m.Delim)
		if err != nil {
			probs = append(probs, folderProblem{m.Mailbox, fmt.Errorf("folder cannot be archived: %w", err)})
			continue
		}
		if !selected(o, name) {
			o.Logger.Debug("folder not selected", "folder", name)
			continue
		}
		if prev := byName[name]; prev != nil {
			if prev.mailbox == m.Mailbox {
				continue // listed twice
			}
			probs = append(probs, folderProblem{m.Mailbox, fmt.Errorf("folder skipped: its name maps to %q as %q does", name, prev.mailbox)})
			continue
		}
		f := &folder{mailbox: m.Mailbox, name: name, source: stateSource(o, name)}
		var su []string
		for _, a := range m.Attrs {
			if slices.Contains(specialUse, a) {
				su = append(su, string(a))
			}
		}
		f.special = strings.Join(su, " ")
		if f.special != "" {
			o.Logger.Info("special-use folder", "folder", name, "use", f.special)
		}
		f.rep = &FolderReport{Folder: name, Mailbox: m.Mailbox, SpecialUse: f.special}
		byName[name] = f
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *folder) int {
		if (a.name == archive.Inbox) != (b.name == archive.Inbox) {
			if a.name == archive.Inbox {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out, probs, nil
}

type folderProblem struct {
	mailbox string
	err     error
}
