package archive

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Read-only catalog queries for the IMAP server: folders with their
// UIDVALIDITY and UIDs, and the entries FETCH and SEARCH need. They use the
// reader connections only, so they work on an archive opened either way.

// Folder is one folder of the catalog.
type Folder struct {
	ID          int64
	Account     string
	Name        string // canonical IMAP name, '/' separator
	UIDValidity uint32
	UIDNext     uint32
}

// dir returns the folder's Maildir directory under root.
func (f Folder) dir(root string) (string, error) {
	rel, err := FolderDir(f.Name)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, f.Account, rel), nil
}

// Folders returns the folders of the given accounts, ordered by account
// and name; nil accounts means every account.
func (a *Archive) Folders(ctx context.Context, accounts []string) ([]Folder, error) {
	q := `SELECT id, account, name, uidvalidity, uidnext FROM folders`
	var args []any
	if accounts != nil {
		if len(accounts) == 0 {
			return nil, nil
		}
		q += ` WHERE account IN (` + strings.TrimSuffix(strings.Repeat("?,", len(accounts)), ",") + `)`
		for _, acct := range accounts {
			args = append(args, acct)
		}
	}
	q += ` ORDER BY account, name`
	rows, err := a.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing folders: %w", err)
	}
	defer rows.Close()
	var out []Folder
	for rows.Next() {
		var f Folder
		if err := rows.Scan(&f.ID, &f.Account, &f.Name, &f.UIDValidity, &f.UIDNext); err != nil {
			return nil, fmt.Errorf("listing folders: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FolderCounts summarises one folder for IMAP STATUS.
type FolderCounts struct {
	Messages uint32
	Unseen   uint32
	Deleted  uint32
	Size     int64 // bytes as sent over IMAP (CRLF)
}

// CountFolder counts the entries of a folder.
func (a *Archive) CountFolder(ctx context.Context, folderID int64) (FolderCounts, error) {
	var c FolderCounts
	err := a.rdb.QueryRowContext(ctx, `SELECT count(*),
		coalesce(sum(instr(' ' || e.flags || ' ', ' \Seen ') = 0), 0),
		coalesce(sum(instr(' ' || e.flags || ' ', ' \Deleted ') > 0), 0),
		coalesce(sum(m.crlf_size), 0)
		FROM entries e JOIN messages m ON m.id = e.message WHERE e.folder_id = ?`, folderID).
		Scan(&c.Messages, &c.Unseen, &c.Deleted, &c.Size)
	if err != nil {
		return c, fmt.Errorf("counting folder %d: %w", folderID, err)
	}
	return c, nil
}

// FolderUIDs calls fn for every entry of the folder with a UID above
// after, in ascending UID order, with the entry's flags. It is cheap: the
// catalog's primary key is (folder, uid).
func (a *Archive) FolderUIDs(ctx context.Context, folderID int64, after uint32, fn func(uid uint32, flags []string)) error {
	rows, err := a.rdb.QueryContext(ctx, `SELECT uid, flags FROM entries WHERE folder_id = ? AND uid > ? ORDER BY uid`, folderID, after)
	if err != nil {
		return fmt.Errorf("listing uids of folder %d: %w", folderID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid uint32
		var flags string
		if err := rows.Scan(&uid, &flags); err != nil {
			return fmt.Errorf("listing uids of folder %d: %w", folderID, err)
		}
		fn(uid, strings.Fields(flags))
	}
	return rows.Err()
}

// Entry is one message in one folder, with what IMAP FETCH and SEARCH need.
type Entry struct {
	UID          uint32
	ID           ID
	Flags        []string
	InternalDate time.Time // this copy's
	Size         int64     // bytes in the file
	CRLFSize     int64     // bytes as sent over IMAP (line endings CRLF)
	Date         time.Time // the Date header; zero if none
	Path         string    // absolute path of this copy's file
}

// Entries returns up to limit entries of folder f with lo <= UID <= hi,
// in ascending UID order.
func (a *Archive) Entries(ctx context.Context, f Folder, lo, hi uint32, limit int) ([]Entry, error) {
	dir, err := f.dir(a.MaildirRoot())
	if err != nil {
		return nil, err
	}
	rows, err := a.rdb.QueryContext(ctx, `SELECT e.uid, m.hash, e.flags, e.internal_date, m.size, m.crlf_size, m.date, e.filename
		FROM entries e JOIN messages m ON m.id = e.message
		WHERE e.folder_id = ? AND e.uid >= ? AND e.uid <= ? ORDER BY e.uid LIMIT ?`, f.ID, lo, hi, limit)
	if err != nil {
		return nil, fmt.Errorf("reading entries of %s/%s: %w", f.Account, f.Name, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var hash []byte
		var flags, name string
		var idate int64
		var date sql.NullInt64
		if err := rows.Scan(&e.UID, &hash, &flags, &idate, &e.Size, &e.CRLFSize, &date, &name); err != nil {
			return nil, fmt.Errorf("reading entries of %s/%s: %w", f.Account, f.Name, err)
		}
		copy(e.ID[:], hash)
		e.Flags = strings.Fields(flags)
		e.InternalDate = time.Unix(idate, 0).UTC()
		if date.Valid {
			e.Date = time.Unix(date.Int64, 0).UTC()
		}
		e.Path = filepath.Join(dir, "cur", filepath.Base(name))
		out = append(out, e)
	}
	return out, rows.Err()
}
