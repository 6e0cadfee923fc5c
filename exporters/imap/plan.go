package imap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
)

// target is one mailbox of the target server that the selection feeds.
type target struct {
	mailbox string
	rep     *exporters.FolderReport
	scope   archive.ReceiptScope
	have    map[archive.ID]archive.Receipt // receipts when the run started
	found   map[archive.ID]found           // found by the first reconciliation
	sent    map[archive.ID]bool            // handed to a connection by this run (producer only)
	exists  bool
	limit   int64 // APPENDLIMIT for this mailbox; 0: none known
	err     error // the mailbox cannot be used: its messages fail
}

// plan is what a run works from: every selected source folder's target,
// what the receipts say, and the server's properties.
type plan struct {
	o        *Options
	store    exporters.ReceiptStore
	sel      *archive.Selection
	rep      *exporters.Report
	namer    Namer
	bySource map[[2]string]*target
	targets  []*target
	uidPlus  bool
}

// newPlan asks the server for its delimiter, namespace, limits and
// mailboxes, names every selected folder's target and reads the receipts.
func newPlan(ctx context.Context, s *session, store exporters.ReceiptStore, sel *archive.Selection, o *Options, rep *exporters.Report) (*plan, error) {
	p := &plan{o: o, store: store, sel: sel, rep: rep, bySource: map[[2]string]*target{}}
	caps := s.c.Caps()
	p.uidPlus = caps.Has(imap.CapUIDPlus)
	p.namer = Namer{Prefix: o.Prefix, FolderMap: o.FolderMap}
	root, err := s.c.List("", "", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("asking for the hierarchy delimiter (LIST \"\" \"\"): %w", err)
	}
	if len(root) > 0 {
		p.namer.Delim = root[0].Delim
	}
	if caps.Has(imap.CapNamespace) {
		ns, err := s.c.Namespace().Wait()
		if err != nil {
			return nil, fmt.Errorf("asking for namespaces: %w", err)
		}
		if len(ns.Personal) > 0 {
			p.namer.NSPrefix = ns.Personal[0].Prefix
			if ns.Personal[0].Delim != 0 {
				p.namer.Delim = ns.Personal[0].Delim
			}
		}
	}
	o.Logger.Info("target server", "addr", o.Addr, "delimiter", string(p.namer.Delim), "namespace", p.namer.NSPrefix, "uidplus", p.uidPlus)
	list, err := s.c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("listing the target's folders: %w", err)
	}
	exists := map[string]bool{}
	for _, m := range list {
		if slices.Contains(m.Attrs, imap.MailboxAttrNonExistent) || slices.Contains(m.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		exists[mailboxKey(m.Mailbox)] = true
	}
	exists[archive.Inbox] = true // always there (RFC 3501 5.1)
	var global int64
	limitCap, hasLimit := caps.AppendLimit()
	if hasLimit && limitCap != nil {
		global = int64(*limitCap)
	}
	byMailbox := map[string]*target{}
	for _, f := range sel.Folders() {
		src := f.Account + "/" + f.Name
		mbox, err := p.namer.Mailbox(f.Account, f.Name)
		if err != nil {
			t := &target{mailbox: src, rep: rep.Folder(src)}
			rep.AddSource(t.rep, src, f.Messages, f.CRLFBytes)
			p.unusable(t, f.Messages, err)
			p.bySource[[2]string{f.Account, f.Name}] = t
			p.targets = append(p.targets, t)
			continue
		}
		t := byMailbox[mailboxKey(mbox)]
		if t == nil {
			t = &target{
				mailbox: mbox,
				rep:     rep.Folder(mbox),
				scope:   archive.ReceiptScope{Target: o.Target(), User: o.User, Folder: mbox},
				found:   map[archive.ID]found{},
				sent:    map[archive.ID]bool{},
				exists:  exists[mailboxKey(mbox)],
				limit:   global,
			}
			if t.have, err = store.Receipts(ctx, t.scope); err != nil {
				return nil, err
			}
			byMailbox[mailboxKey(mbox)] = t
			p.targets = append(p.targets, t)
		}
		rep.AddSource(t.rep, src, f.Messages, f.CRLFBytes)
		p.bySource[[2]string{f.Account, f.Name}] = t
	}
	if hasLimit && limitCap == nil {
		for _, t := range p.targets {
			if t.exists {
				p.mailboxLimit(s, t)
			}
		}
	}
	return p, nil
}

// unusable fails target t, whose n messages cannot be exported because
// of err.
func (p *plan) unusable(t *target, n int64, err error) {
	t.err = err
	t.rep.Note = err.Error()
	p.rep.Problem("imap:"+t.mailbox, fmt.Sprintf("%d messages not exported: %v", n, err), true)
}

// mailboxKey compares mailbox names: INBOX in any case is INBOX.
func mailboxKey(name string) string {
	if strings.EqualFold(name, archive.Inbox) {
		return archive.Inbox
	}
	return name
}

// mailboxLimit asks for a per-mailbox APPENDLIMIT (RFC 7889 STATUS).
func (p *plan) mailboxLimit(s *session, t *target) {
	st, err := s.c.Status(t.mailbox, &imap.StatusOptions{AppendLimit: true}).Wait()
	if err != nil {
		p.o.Logger.Warn("STATUS APPENDLIMIT failed", "mailbox", t.mailbox, "err", err)
		return
	}
	if st.AppendLimit != nil {
		t.limit = int64(*st.AppendLimit)
	}
}

// reconcile looks, in every existing target mailbox, for the selected
// messages that have no receipt there (see locate). What it finds goes
// into t.found, and into the journal when j is not nil (a dry run has
// none).
func (p *plan) reconcile(ctx context.Context, s *session, j *exporters.Journal) error {
	for _, t := range p.targets {
		if t.err != nil || !t.exists {
			continue
		}
		var ws []wanted
		seen := map[archive.ID]bool{}
		for _, src := range t.rep.Sources {
			acct, folder, _ := strings.Cut(src, "/")
			err := p.sel.EachIn(ctx, acct, folder, func(e *archive.SelectedEntry) error {
				if _, ok := t.have[e.ID]; ok || seen[e.ID] {
					return nil
				}
				seen[e.ID] = true
				ws = append(ws, wanted{id: e.ID, messageID: e.MessageID, size: e.CRLFSize})
				return nil
			})
			if err != nil {
				return err
			}
		}
		if len(ws) == 0 {
			continue
		}
		got, err := locate(s, t.mailbox, ws, true)
		if errors.Is(err, errUnchecked) {
			// Its messages may be there without receipts (a run killed
			// after APPEND): fail them rather than risk a second copy.
			p.unusable(t, int64(len(ws)), err)
			continue
		}
		if err != nil {
			return fmt.Errorf("reconciling %s: %w", t.mailbox, err)
		}
		if len(got) > 0 {
			p.o.Logger.Info("found on the target without a receipt", "mailbox", t.mailbox, "messages", len(got))
		}
		sizes := map[archive.ID]int64{}
		for _, w := range ws {
			sizes[w.id] = w.size
		}
		for id, f := range got {
			t.found[id] = f
			if j == nil {
				continue
			}
			r := archive.Receipt{Target: t.scope.Target, User: t.scope.User, Folder: t.scope.Folder, ID: id,
				UIDValidity: f.uidValidity, UID: f.uid, Size: sizes[id], How: archive.ReceiptFound}
			if err := j.Add(ctx, r); err != nil {
				return err
			}
		}
	}
	if j != nil {
		return j.Flush(context.WithoutCancel(ctx))
	}
	return nil
}

// create makes the target mailboxes that do not exist yet, and subscribes
// them. A mailbox that cannot be created fails its messages.
func (p *plan) create(s *session) {
	for _, t := range p.targets {
		if t.err != nil || t.exists {
			continue
		}
		err := s.c.Create(t.mailbox, nil).Wait()
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
			p.unusable(t, t.rep.Selected.Messages, fmt.Errorf("creating folder %s: %w", t.mailbox, err))
			continue
		}
		t.exists = true
		p.rep.Update(func() { t.rep.Created = err == nil })
		if err := s.c.Subscribe(t.mailbox).Wait(); err != nil {
			p.rep.Problem("imap:"+t.mailbox, "subscribing: "+err.Error(), false)
		}
		if caps := s.c.Caps(); caps.Has(imap.CapAppendLimit) {
			if l, ok := caps.AppendLimit(); ok && l == nil {
				p.mailboxLimit(s, t)
			}
		}
		p.o.Logger.Info("created folder", "mailbox", t.mailbox)
	}
}
