package archive

import (
	"context"
	"database/sql"
	"fmt"
)

// FolderIDs calls fn for every entry of a folder with lo <= UID <= hi, in
// ascending UID order, with its message's ID: what a search answered by
// the index needs, without what Entries also reads (flags, dates, sizes,
// file names), which costs several times more on large folders. fn runs
// while the rows are read: it must not use the catalog.
func (a *Archive) FolderIDs(ctx context.Context, folderID int64, lo, hi uint32, fn func(uid uint32, id ID) error) error {
	rows, err := a.rdb.QueryContext(ctx, `SELECT e.uid, m.hash FROM entries e JOIN messages m ON m.id = e.message
		WHERE e.folder_id = ? AND e.uid >= ? AND e.uid <= ? ORDER BY e.uid`, folderID, lo, hi)
	if err != nil {
		return fmt.Errorf("listing messages of folder %d: %w", folderID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid uint32
		var hash sql.RawBytes
		if err := rows.Scan(&uid, &hash); err != nil {
			return fmt.Errorf("listing messages of folder %d: %w", folderID, err)
		}
		var id ID
		if len(hash) != len(id) {
			return fmt.Errorf("listing messages of folder %d: uid %d has a bad hash", folderID, uid)
		}
		copy(id[:], hash)
		if err := fn(uid, id); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("listing messages of folder %d: %w", folderID, err)
	}
	return nil
}
