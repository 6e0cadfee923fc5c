package imap

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
)

// Reconciliation finds messages that are on the target although the
// archive has no receipt for them: appended by a run killed before it
// committed their receipts, or put there by someone else. A message counts
// as there only if the target has exactly its bytes:
//
//  1. one FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])
//     lists the mailbox; a target message is a candidate for an archive
//     message with the same Message-ID (or, for messages without one, no
//     Message-ID) and the same size (RFC822.SIZE is the CRLF size, as the
//     archive counts it);
//  2. each candidate's BODY.PEEK[] is hashed the archive's way, and only an
//     equal ID matches. Each target message matches at most one archive
//     message.
//
// So a message without a Message-ID is found by its size and bytes, and a
// near-duplicate (same Message-ID, other bytes) is never mistaken for the
// message. A server that rewrites messages on APPEND defeats step 2; there
// reconciliation finds nothing and only receipts protect against
// duplicates.

// wanted is an archive message looked for in one mailbox.
type wanted struct {
	id        archive.ID
	messageID string
	size      int64 // CRLF
}

// found is where reconciliation found a message.
type found struct {
	uidValidity, uid uint32
}

func candKey(messageID string, size int64) string {
	return messageID + "\x00" + strconv.FormatInt(size, 10)
}

// errUnchecked is a refused EXAMINE of a mailbox the server listed: what
// it holds cannot be known, so appending to it could duplicate messages.
var errUnchecked = errors.New("cannot check what the folder already holds")

// locate looks for ws in mailbox and returns those it found by ID. A
// mailbox that does not exist holds nothing; when listed says the server
// listed it, a refused EXAMINE is errUnchecked instead. It leaves no
// mailbox selected.
func locate(s *session, mailbox string, ws []wanted, listed bool) (map[archive.ID]found, error) {
	out := map[archive.ID]found{}
	if len(ws) == 0 {
		return out, nil
	}
	sel, err := s.c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) {
			if !listed || ie.Code == imap.ResponseCodeNonExistent {
				return out, nil // no such mailbox, or not selectable: nothing there
			}
			return nil, fmt.Errorf("%w: EXAMINE %s refused: %w", errUnchecked, mailbox, err)
		}
		return nil, fmt.Errorf("examining %s: %w", mailbox, err)
	}
	defer unselect(s)
	if sel.NumMessages == 0 {
		return out, nil
	}
	want := map[string][]archive.ID{}
	left := map[archive.ID]bool{}
	for _, w := range ws {
		k := candKey(w.messageID, w.size)
		want[k] = append(want[k], w.id)
		left[w.id] = true
	}
	var cands []imap.UID
	err = headerScan(s, func(uid imap.UID, size int64, mid string) {
		if _, ok := want[candKey(mid, size)]; ok {
			cands = append(cands, uid)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", mailbox, err)
	}
	for start := 0; start < len(cands) && len(left) > 0; start += 100 {
		chunk := cands[start:min(start+100, len(cands))]
		fc := s.c.Fetch(imap.UIDSetNum(chunk...), &imap.FetchOptions{UID: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			var uid imap.UID
			var id archive.ID
			hashed := false
			for it := msg.Next(); it != nil; it = msg.Next() {
				switch x := it.(type) {
				case imapclient.FetchItemDataUID:
					uid = x.UID
				case imapclient.FetchItemDataBodySection:
					if x.Literal != nil {
						h := archive.NewHasher()
						if _, err := io.Copy(h, x.Literal); err == nil {
							id, hashed = h.Sum(), true
						}
					}
				}
			}
			if hashed && uid != 0 && left[id] {
				delete(left, id)
				out[id] = found{uidValidity: sel.UIDValidity, uid: uint32(uid)}
			}
		}
		if err := fc.Close(); err != nil {
			return nil, fmt.Errorf("reading candidates in %s: %w", mailbox, err)
		}
	}
	return out, nil
}

// headerScan lists the selected mailbox: UID, RFC822.SIZE and Message-ID
// of every message, in one FETCH.
func headerScan(s *session, fn func(uid imap.UID, size int64, messageID string)) error {
	var all imap.SeqSet
	all.AddRange(1, 0)
	hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
	fc := s.c.Fetch(all, &imap.FetchOptions{UID: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{hdr}})
	for msg := fc.Next(); msg != nil; msg = fc.Next() {
		var uid imap.UID
		size := int64(-1)
		mid := ""
		for it := msg.Next(); it != nil; it = msg.Next() {
			switch x := it.(type) {
			case imapclient.FetchItemDataUID:
				uid = x.UID
			case imapclient.FetchItemDataRFC822Size:
				size = x.Size
			case imapclient.FetchItemDataBodySection:
				if x.Literal != nil {
					b, _ := io.ReadAll(io.LimitReader(x.Literal, 1<<20))
					io.Copy(io.Discard, x.Literal)
					mid = archive.HeaderMessageID(b)
				}
			}
		}
		if uid != 0 && size >= 0 {
			fn(uid, size, mid)
		}
	}
	return fc.Close()
}

// unselect leaves the selected mailbox, so that APPENDs into it do not
// bring untagged updates.
func unselect(s *session) {
	if s.c.Mailbox() == nil {
		return
	}
	if s.c.Caps().Has(imap.CapUnselect) {
		s.c.Unselect().Wait()
		return
	}
	// CLOSE after EXAMINE expunges nothing (RFC 3501 6.4.2).
	s.c.UnselectAndExpunge().Wait()
}
