package archive

import (
	"context"
	"fmt"
)

// Stats summarises the archive from the catalog.
type Stats struct {
	Messages      int64          `json:"messages"`       // folder entries: what a mail client would count
	Unique        int64          `json:"unique"`         // distinct message bytes (files on disk, less links)
	BytesReceived int64          `json:"bytes_received"` // sum over entries: what the sources held
	BytesStored   int64          `json:"bytes_stored"`   // sum over unique messages: what the disk holds
	NearDups      int64          `json:"near_duplicates"`
	Indexed       int64          `json:"indexed"` // unique messages in the search index
	Accounts      []AccountStats `json:"accounts"`
	Years         []YearStats    `json:"years"`
}

// Saved is the bytes dedup saved.
func (s *Stats) Saved() int64 { return s.BytesReceived - s.BytesStored }

// AccountStats is one account's share.
type AccountStats struct {
	Name     string        `json:"name"`
	Messages int64         `json:"messages"`
	Bytes    int64         `json:"bytes"`
	Folders  []FolderStats `json:"folders"`
}

// FolderStats is one folder's share.
type FolderStats struct {
	Name        string `json:"name"`
	Messages    int64  `json:"messages"`
	Bytes       int64  `json:"bytes"`
	UIDValidity uint32 `json:"uidvalidity"`
	UIDNext     uint32 `json:"uidnext"`
}

// YearStats counts entries by the year of their internal date (UTC).
type YearStats struct {
	Year     int   `json:"year"`
	Messages int64 `json:"messages"`
	Bytes    int64 `json:"bytes"`
}

// Stats computes the summary. It only reads, so it works on a read-only
// archive while another process imports.
func (a *Archive) Stats(ctx context.Context) (*Stats, error) {
	s := &Stats{Accounts: []AccountStats{}, Years: []YearStats{}}
	db := a.rdb
	if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(m.size), 0) FROM entries e JOIN messages m ON m.id = e.message`).
		Scan(&s.Messages, &s.BytesReceived); err != nil {
		return nil, fmt.Errorf("counting entries: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0), coalesce(sum(indexed), 0) FROM messages`).
		Scan(&s.Unique, &s.BytesStored, &s.Indexed); err != nil {
		return nil, fmt.Errorf("counting messages: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM near_dups`).Scan(&s.NearDups); err != nil {
		return nil, fmt.Errorf("counting near-duplicates: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT f.account, f.name, f.uidvalidity, f.uidnext, count(e.message), coalesce(sum(m.size), 0)
		FROM folders f LEFT JOIN entries e ON e.folder_id = f.id LEFT JOIN messages m ON m.id = e.message
		GROUP BY f.id ORDER BY f.account, f.name`)
	if err != nil {
		return nil, fmt.Errorf("counting folders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var acct string
		var f FolderStats
		if err := rows.Scan(&acct, &f.Name, &f.UIDValidity, &f.UIDNext, &f.Messages, &f.Bytes); err != nil {
			return nil, fmt.Errorf("counting folders: %w", err)
		}
		if n := len(s.Accounts); n == 0 || s.Accounts[n-1].Name != acct {
			s.Accounts = append(s.Accounts, AccountStats{Name: acct})
		}
		as := &s.Accounts[len(s.Accounts)-1]
		as.Folders = append(as.Folders, f)
		as.Messages += f.Messages
		as.Bytes += f.Bytes
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting folders: %w", err)
	}
	yrows, err := db.QueryContext(ctx, `SELECT CAST(strftime('%Y', e.internal_date, 'unixepoch') AS INTEGER) AS y, count(*), coalesce(sum(m.size), 0)
		FROM entries e JOIN messages m ON m.id = e.message GROUP BY y ORDER BY y`)
	if err != nil {
		return nil, fmt.Errorf("counting years: %w", err)
	}
	defer yrows.Close()
	for yrows.Next() {
		var y YearStats
		if err := yrows.Scan(&y.Year, &y.Messages, &y.Bytes); err != nil {
			return nil, fmt.Errorf("counting years: %w", err)
		}
		s.Years = append(s.Years, y)
	}
	return s, yrows.Err()
}
