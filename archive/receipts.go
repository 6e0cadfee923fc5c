package archive

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Receipts record that an exporter handed a message to a target and the
// target confirmed it: an IMAP server's OK to APPEND, an SMTP server's 250
// after DATA. They are the one thing an export writes to the archive, and
// they make exports idempotent: a rerun, or a resumed run, skips every
// message that has a receipt for the same (target, user, folder).
//
// Receipts are keyed by the message's ID, not by catalog row, so that they
// survive 'mailark reindex' (which rebuilds the messages table from the
// files). Like sync state and the audit log, they exist only in the
// catalog.

// How a receipt came about.
const (
	ReceiptAppended = "appended" // APPEND answered OK
	ReceiptFound    = "found"    // already on the target: found by reconciliation
	ReceiptSent     = "sent"     // SMTP DATA answered 250
	// ReceiptSending is no confirmation: the end of SMTP DATA was about to
	// be sent and no answer was recorded (see MarkSending).
	ReceiptSending = "sending"
)

// Receipt is one message confirmed by one target.
type Receipt struct {
	Target string // "imap://host:port", "smtp://host:port"
	User   string // login user (IMAP); envelope sender (SMTP)
	Folder string // target mailbox as the server names it (IMAP); sorted recipients (SMTP)
	ID     ID
	// UIDValidity and UID are the APPENDUID (RFC 4315) where the server
	// has UIDPLUS, or the UID reconciliation found; 0 when unknown.
	UIDValidity, UID uint32
	Size             int64  // bytes sent (CRLF)
	How              string // ReceiptAppended, ReceiptFound, ReceiptSent or ReceiptSending
	Run              int64  // the audit-log run that recorded it; 0 if none
	Time             time.Time
}

// ReceiptScope names the receipts of one (target, user, folder).
type ReceiptScope struct{ Target, User, Folder string }

// Receipts returns the receipts of a scope by message ID. On a catalog
// that has no receipts table yet (an archive opened read-only that no
// export has touched) it returns an empty map.
func (a *Archive) Receipts(ctx context.Context, sc ReceiptScope) (map[ID]Receipt, error) {
	rows, err := a.rdb.QueryContext(ctx, `SELECT message, uidvalidity, uid, size, how, run, at FROM receipts
		WHERE target = ? AND user = ? AND folder = ?`, sc.Target, sc.User, sc.Folder)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return map[ID]Receipt{}, nil
		}
		return nil, fmt.Errorf("reading receipts of %s %s %s: %w", sc.Target, sc.User, sc.Folder, err)
	}
	defer rows.Close()
	out := map[ID]Receipt{}
	for rows.Next() {
		r := Receipt{Target: sc.Target, User: sc.User, Folder: sc.Folder}
		var hash []byte
		var at int64
		if err := rows.Scan(&hash, &r.UIDValidity, &r.UID, &r.Size, &r.How, &r.Run, &at); err != nil {
			return nil, fmt.Errorf("reading receipts of %s %s %s: %w", sc.Target, sc.User, sc.Folder, err)
		}
		if len(hash) != len(r.ID) {
			continue
		}
		copy(r.ID[:], hash)
		r.Time = time.Unix(at, 0)
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading receipts of %s %s %s: %w", sc.Target, sc.User, sc.Folder, err)
	}
	return out, nil
}

// AddReceipts records receipts in one transaction: when it returns nil
// they are durable. A receipt for a (target, user, folder, message) that
// already has one is ignored: the first confirmation stands. Only a
// ReceiptSending record is replaced: it was no confirmation.
func (a *Archive) AddReceipts(ctx context.Context, rs []Receipt) error {
	if len(rs) == 0 {
		return nil
	}
	if a.ReadOnly() {
		return errors.New("recording receipts: archive opened read-only")
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recording receipts: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO receipts (target, user, folder, message, uidvalidity, uid, size, how, run, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (target, user, folder, message) DO UPDATE SET uidvalidity = excluded.uidvalidity, uid = excluded.uid,
			size = excluded.size, how = excluded.how, run = excluded.run, at = excluded.at
		WHERE receipts.how = '`+ReceiptSending+`'`)
	if err != nil {
		return fmt.Errorf("recording receipts: %w", err)
	}
	defer st.Close()
	for _, r := range rs {
		t := r.Time
		if t.IsZero() {
			t = time.Now()
		}
		if _, err := st.ExecContext(ctx, r.Target, r.User, r.Folder, r.ID[:], r.UIDValidity, r.UID, r.Size, r.How, r.Run, t.Unix()); err != nil {
			return fmt.Errorf("recording receipt of %s in %s: %w", r.ID.Short(), r.Folder, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recording receipts: %w", err)
	}
	return nil
}

// MarkSending records r as ReceiptSending (unless the message already
// has a receipt in its scope) right before a delivery becomes irrevocable,
// the end of SMTP DATA, so that a process killed before it recorded the
// server's answer leaves a trace: the next run knows the message most
// likely arrived and does not send it twice. AddReceipts replaces the
// record with the confirmation.
//
// The commit does not wait for the disk (synchronous=NORMAL; WAL keeps it
// atomic): what a killed process wrote survives it all the same, and the
// moment between the record and the send, where a kill loses the message
// instead, stays microseconds rather than an fsync. After a machine crash
// the record may be gone and the message is sent again, as without it.
func (a *Archive) MarkSending(ctx context.Context, r Receipt) error {
	if a.ReadOnly() {
		return errors.New("recording a message being sent: archive opened read-only")
	}
	c, err := a.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("recording a message being sent: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return fmt.Errorf("recording a message being sent: %w", err)
	}
	_, err = c.ExecContext(ctx, `INSERT INTO receipts (target, user, folder, message, uidvalidity, uid, size, how, run, at)
		VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.Target, r.User, r.Folder, r.ID[:], r.Size, ReceiptSending, r.Run, time.Now().Unix())
	// Every other commit must stay durable: restore FULL whatever happened.
	if _, rerr := c.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); rerr != nil {
		c.Raw(func(any) error { return driver.ErrBadConn }) // never reuse a connection left at NORMAL
		return fmt.Errorf("restoring synchronous=FULL: %w", rerr)
	}
	if err != nil {
		return fmt.Errorf("recording %s as being sent: %w", r.ID.Short(), err)
	}
	return nil
}

// DropReceipts deletes the receipts of ids in a scope, so that the next
// export sends those messages again (used when a target turns out to have
// lost them).
func (a *Archive) DropReceipts(ctx context.Context, sc ReceiptScope, ids []ID) error {
	if len(ids) == 0 {
		return nil
	}
	if a.ReadOnly() {
		return errors.New("dropping receipts: archive opened read-only")
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dropping receipts: %w", err)
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM receipts WHERE target = ? AND user = ? AND folder = ? AND message = ?`,
			sc.Target, sc.User, sc.Folder, id[:]); err != nil {
			return fmt.Errorf("dropping receipt of %s: %w", id.Short(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dropping receipts: %w", err)
	}
	return nil
}
