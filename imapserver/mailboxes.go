package imapserver

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/mailark/mailark/archive"
)

// A user sees the folders of the accounts it is mapped to. With one
// account they appear as they are (INBOX, Sent, Archive/2019); with
// several, each account is a top-level mailbox that cannot be selected
// (work/INBOX, home/Sent). The delimiter is "/", as in the catalog.
//
// A client's mailbox name is only ever compared with the names this list
// produces: no path is built from it, so "..", "../other", modified UTF-7
// or look-alike UTF-8 names can name nothing outside the user's accounts.
type view struct {
	accounts []string
	multi    bool
}

const delim = '/'

// newView resolves a user's accounts ("*": every account now in the
// archive).
func (s *Server) newView(ctx context.Context, accounts []string) (view, error) {
	if slices.Equal(accounts, []string{AllAccounts}) {
		fs, err := s.cfg.Archive.Folders(ctx, nil)
		if err != nil {
			return view{}, err
		}
		accounts = nil
		for _, f := range fs {
			if !slices.Contains(accounts, f.Account) {
				accounts = append(accounts, f.Account)
			}
		}
	}
	accounts = slices.Clone(accounts)
	sort.Strings(accounts)
	if accounts == nil {
		accounts = []string{} // no accounts: sees nothing
	}
	return view{accounts: accounts, multi: len(accounts) > 1}, nil
}

func (v view) display(f archive.Folder) string {
	if v.multi {
		return f.Account + string(delim) + f.Name
	}
	return f.Name
}

// canonical spells INBOX (case-insensitive in IMAP) the catalog's way.
func (v view) canonical(name string) string {
	parts := strings.Split(name, string(delim))
	i := 0
	if v.multi {
		i = 1
	}
	if len(parts) > i && strings.EqualFold(parts[i], archive.Inbox) {
		parts[i] = archive.Inbox
	}
	return strings.Join(parts, string(delim))
}

// mailbox is a name a client sees: a folder, or a parent of folders that
// has none of its own (\Noselect).
type mailbox struct {
	name     string
	folder   *archive.Folder
	children bool
}

func (s *Session) mailboxes(ctx context.Context) ([]*mailbox, error) {
	fs, err := s.srv.cfg.Archive.Folders(ctx, s.view.accounts)
	if err != nil {
		return nil, err
	}
	byName := map[string]*mailbox{}
	for i := range fs {
		name := s.view.display(fs[i])
		m := byName[name]
		if m == nil {
			m = &mailbox{name: name}
			byName[name] = m
		}
		m.folder = &fs[i]
		for j := strings.LastIndexByte(name, delim); j > 0; j = strings.LastIndexByte(name[:j], delim) {
			p := byName[name[:j]]
			if p == nil {
				p = &mailbox{name: name[:j]}
				byName[name[:j]] = p
			}
			p.children = true
		}
	}
	out := make([]*mailbox, 0, len(byName))
	for _, m := range byName {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].name, out[j].name
		if (a == archive.Inbox) != (b == archive.Inbox) {
			return a == archive.Inbox
		}
		return a < b
	})
	return out, nil
}

func noSuchMailbox() error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
}

// lookup finds the folder a client names.
func (s *Session) lookup(ctx context.Context, name string) (archive.Folder, string, error) {
	name = s.view.canonical(name)
	mbs, err := s.mailboxes(ctx)
	if err != nil {
		return archive.Folder{}, "", err
	}
	for _, m := range mbs {
		if m.name != name {
			continue
		}
		if m.folder == nil {
			return archive.Folder{}, "", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
				Text: "This mailbox only holds other mailboxes"}
		}
		return *m.folder, m.name, nil
	}
	return archive.Folder{}, "", noSuchMailbox()
}

func (s *Session) List(w *imapserver.ListWriter, ref string, patterns []string, opts *imap.ListOptions) error {
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: delim})
	}
	ctx, cancel := s.ctx()
	defer cancel()
	mbs, err := s.mailboxes(ctx)
	if err != nil {
		return s.internal("list", err)
	}
	ref = s.view.canonical(ref)
	for i := range patterns {
		patterns[i] = s.view.canonical(patterns[i])
	}
	for _, m := range mbs {
		if !slices.ContainsFunc(patterns, func(p string) bool { return imapserver.MatchList(m.name, delim, ref, p) }) {
			continue
		}
		var attrs []imap.MailboxAttr
		if m.folder == nil {
			attrs = append(attrs, imap.MailboxAttrNoSelect)
		} else if opts != nil && opts.ReturnSubscribed {
			attrs = append(attrs, imap.MailboxAttrSubscribed)
		}
		if m.children {
			attrs = append(attrs, imap.MailboxAttrHasChildren)
		} else {
			attrs = append(attrs, imap.MailboxAttrHasNoChildren)
		}
		if err := w.WriteList(&imap.ListData{Attrs: attrs, Delim: delim, Mailbox: m.name}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) Status(name string, opts *imap.StatusOptions) (*imap.StatusData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	f, shown, err := s.lookup(ctx, name)
	if err != nil {
		return nil, s.internal("status", err)
	}
	c, err := s.srv.cfg.Archive.CountFolder(ctx, f.ID)
	if err != nil {
		return nil, s.internal("status", err)
	}
	var zero uint32
	var zero64 int64
	limit := s.AppendLimit()
	return &imap.StatusData{Mailbox: shown, NumMessages: &c.Messages, NumRecent: &zero,
		UIDNext: imap.UID(f.UIDNext), UIDValidity: f.UIDValidity, NumUnseen: &c.Unseen,
		NumDeleted: &c.Deleted, Size: &c.Size, AppendLimit: &limit, DeletedStorage: &zero64}, nil
}

// selection is the selected mailbox: its folder and the UIDs of its
// messages in order (index+1 is the sequence number). Entries are never
// removed while the server holds the archive, so the list only grows.
type selection struct {
	mu       sync.Mutex
	folder   archive.Folder
	uids     []imap.UID
	lastPoll time.Time
	cache    []archive.Entry // the last entries read (see eachEntry)
}

func (sel *selection) snapshot() []imap.UID {
	sel.mu.Lock()
	defer sel.mu.Unlock()
	return sel.uids
}

// Select opens a mailbox. SELECT reaches here as EXAMINE (see guardConn),
// so go-imap answers [READ-ONLY] to both.
func (s *Session) Select(name string, _ *imap.SelectOptions) (*imap.SelectData, error) {
	s.selected = nil
	ctx, cancel := s.ctx()
	defer cancel()
	f, _, err := s.lookup(ctx, name)
	if err != nil {
		return nil, s.internal("select", err)
	}
	sel := &selection{folder: f, lastPoll: time.Now()}
	var firstUnseen uint32
	keywords := map[string]bool{}
	err = s.srv.cfg.Archive.FolderUIDs(ctx, f.ID, 0, func(uid uint32, flags []string) {
		sel.uids = append(sel.uids, imap.UID(uid))
		if firstUnseen == 0 && !slices.Contains(flags, archive.FlagSeen) {
			firstUnseen = uint32(len(sel.uids))
		}
		for _, fl := range flags {
			if !strings.HasPrefix(fl, `\`) {
				keywords[fl] = true
			}
		}
	})
	if err != nil {
		return nil, s.internal("select", err)
	}
	flags := []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}
	var kw []string
	for k := range keywords {
		kw = append(kw, k)
	}
	sort.Strings(kw)
	flags = append(flags, flagsOf(kw)...)
	s.selected = sel
	return &imap.SelectData{Flags: flags, PermanentFlags: []imap.Flag{}, NumMessages: uint32(len(sel.uids)),
		FirstUnseenSeqNum: firstUnseen, UIDNext: imap.UID(f.UIDNext), UIDValidity: f.UIDValidity}, nil
}

func (s *Session) Unselect() error {
	s.selected = nil
	return nil
}

// pollEvery bounds how often commands look for new mail: clients such as
// mbsync send one FETCH per message.
const pollEvery = time.Second

func (s *Session) Poll(w *imapserver.UpdateWriter, _ bool) error {
	sel := s.selected
	if sel == nil {
		return nil
	}
	sel.mu.Lock()
	due := time.Since(sel.lastPoll) >= pollEvery
	sel.mu.Unlock()
	if !due {
		return nil
	}
	return s.poll(w, sel)
}

// poll appends the entries archived since the last look and announces
// them with EXISTS.
func (s *Session) poll(w *imapserver.UpdateWriter, sel *selection) error {
	ctx, cancel := s.ctx()
	defer cancel()
	sel.mu.Lock()
	defer sel.mu.Unlock()
	sel.lastPoll = time.Now()
	var after uint32
	if n := len(sel.uids); n > 0 {
		after = uint32(sel.uids[n-1])
	}
	before := len(sel.uids)
	uids := slices.Clip(sel.uids)
	err := s.srv.cfg.Archive.FolderUIDs(ctx, sel.folder.ID, after, func(uid uint32, _ []string) {
		uids = append(uids, imap.UID(uid))
	})
	if err != nil {
		return s.internal("poll", err)
	}
	sel.uids = uids
	if len(uids) > before {
		return w.WriteNumMessages(uint32(len(uids)))
	}
	return nil
}

// Idle looks for new mail every IdlePoll until the client says DONE.
func (s *Session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(s.srv.cfg.IdlePoll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
			if sel := s.selected; sel != nil {
				if err := s.poll(w, sel); err != nil {
					return err
				}
			}
		}
	}
}
