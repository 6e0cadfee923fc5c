package imap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
)

// verify checks, for every target mailbox, that each selected message with
// a receipt is there with the size that was sent: by UID FETCH RFC822.SIZE
// where the receipt has the APPENDUID (and the mailbox its UIDVALIDITY
// still), else by Message-ID and size. A message that is not there loses
// its receipt, so that the next run sends it again; it counts as a failure
// of this run.
func (p *plan) verify(ctx context.Context, s *session) error {
	for _, t := range p.targets {
		if t.err != nil {
			continue
		}
		if err := p.verifyTarget(ctx, s, t); err != nil {
			return fmt.Errorf("verifying %s: %w", t.mailbox, err)
		}
	}
	return nil
}

type expected struct {
	r         archive.Receipt
	messageID string
	where     string
}

func (p *plan) verifyTarget(ctx context.Context, s *session, t *target) error {
	rcpts, err := p.store.Receipts(ctx, t.scope)
	if err != nil {
		return err
	}
	exp := map[archive.ID]*expected{}
	for _, src := range t.rep.Sources {
		acct, folder, _ := strings.Cut(src, "/")
		err := p.sel.EachIn(ctx, acct, folder, func(e *archive.SelectedEntry) error {
			if r, ok := rcpts[e.ID]; ok && exp[e.ID] == nil {
				exp[e.ID] = &expected{r: r, messageID: e.MessageID, where: where(e)}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	vr := &exporters.VerifyReport{Checked: int64(len(exp))}
	p.rep.Update(func() { t.rep.Verify = vr })
	if len(exp) == 0 {
		return nil
	}
	var missing []archive.ID
	miss := func(id archive.ID, why string) {
		vr.Missing++
		missing = append(missing, id)
		p.rep.Problem(exp[id].where, fmt.Sprintf("verify: not in %s (%s); its receipt is dropped, the next run appends it again", t.mailbox, why), true)
	}
	sel, err := s.c.Select(t.mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		var ie *imap.Error
		if !errors.As(err, &ie) {
			return err
		}
		for id := range exp {
			miss(id, "the folder cannot be opened: "+ie.Error())
		}
		return p.store.DropReceipts(ctx, t.scope, missing)
	}
	defer unselect(s)
	byUID := map[imap.UID]archive.ID{}
	var uids []imap.UID
	var rest []archive.ID
	for id, x := range exp {
		if x.r.UID != 0 && x.r.UIDValidity == sel.UIDValidity {
			byUID[imap.UID(x.r.UID)] = id
			uids = append(uids, imap.UID(x.r.UID))
		} else {
			rest = append(rest, id)
		}
	}
	sizes := map[imap.UID]int64{}
	for start := 0; start < len(uids); start += 500 {
		chunk := uids[start:min(start+500, len(uids))]
		fc := s.c.Fetch(imap.UIDSetNum(chunk...), &imap.FetchOptions{UID: true, RFC822Size: true})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			var uid imap.UID
			size := int64(-1)
			for it := msg.Next(); it != nil; it = msg.Next() {
				switch x := it.(type) {
				case imapclient.FetchItemDataUID:
					uid = x.UID
				case imapclient.FetchItemDataRFC822Size:
					size = x.Size
				}
			}
			if uid != 0 {
				sizes[uid] = size
			}
		}
		if err := fc.Close(); err != nil {
			return err
		}
	}
	for uid, id := range byUID {
		size, ok := sizes[uid]
		switch {
		case !ok:
			miss(id, fmt.Sprintf("UID %d is gone", uid))
		case size != exp[id].r.Size:
			vr.SizeMismatch++
			p.rep.Problem(exp[id].where, fmt.Sprintf("verify: UID %d in %s has %d bytes, %d were sent", uid, t.mailbox, size, exp[id].r.Size), true)
		default:
			vr.Present++
		}
	}
	if len(rest) > 0 && sel.NumMessages > 0 {
		have := map[string]int{}
		err := headerScan(s, func(_ imap.UID, size int64, mid string) { have[candKey(mid, size)]++ })
		if err != nil {
			return err
		}
		for _, id := range rest {
			k := candKey(exp[id].messageID, exp[id].r.Size)
			if have[k] > 0 {
				have[k]--
				vr.Present++
				continue
			}
			miss(id, "no message with its Message-ID and size")
		}
	} else {
		for _, id := range rest {
			miss(id, "the folder is empty")
		}
	}
	return p.store.DropReceipts(ctx, t.scope, missing)
}
