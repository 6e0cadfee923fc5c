package archive

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SelectOptions choose the folder entries an export reads. The zero value
// selects every entry of every folder of every account.
type SelectOptions struct {
	// Accounts are exact account names; none means every account.
	Accounts []string
	// Folders are patterns on canonical folder names (see MatchFolder);
	// none means every folder.
	Folders []string
	// Only, when not nil, keeps only entries of these messages (the hits
	// of a search). An empty, non-nil set selects nothing.
	Only IDSet
}

// IDSet is a set of message IDs.
type IDSet map[ID]struct{}

// SelectedEntry is one folder entry of a selection: one copy of a message in one
// folder, with everything an exporter needs except the bytes.
type SelectedEntry struct {
	Account, Folder string
	UID             uint32
	ID              ID
	Flags           []string  // normalised IMAP flags and keywords (never \Recent)
	InternalDate    time.Time // this copy's internal date, UTC, whole seconds
	Path            string    // absolute path of this copy's file
	Size            int64     // bytes in the file, as received
	CRLFSize        int64     // bytes with line endings normalised to CRLF: what IMAP and SMTP carry
	MessageID       string    // Message-ID header without <>, "" if none
	From            string    // From header, decoded
}

// SelectedFolder is one folder of a selection with its selected totals.
type SelectedFolder struct {
	Account, Name string
	Messages      int64
	Bytes         int64 // file bytes
	CRLFBytes     int64 // wire bytes

	id int64
}

// Selection is a resolved set of entries, iterated folder by folder
// (accounts by name, INBOX first, then folders by name) and by UID within a
// folder: a stable order that does not depend on the catalog's row order.
// Entries added to the selected folders after Select are not seen.
type Selection struct {
	a       *Archive
	folders []SelectedFolder
	only    map[int64]struct{} // catalog row ids of messages; nil: no restriction
	maxUID  []uint32           // per folder: the last UID when Select ran
}

// MatchFolder reports whether a canonical folder name matches a --folder
// pattern: path.Match syntax where '*' and '?' also match across '/'
// ("Archive/*" matches "Archive/2019/Q1"), and a leading INBOX is
// case-insensitive. An invalid pattern is an error.
func MatchFolder(pattern, name string) (bool, error) {
	if first, _, _ := strings.Cut(pattern, "/"); strings.EqualFold(first, Inbox) {
		pattern = Inbox + pattern[len(first):]
	}
	ok, err := path.Match(pattern, name)
	if err != nil {
		return false, fmt.Errorf("folder pattern %q: %w", pattern, err)
	}
	if ok {
		return true, nil
	}
	const sep = "\uffff" // a non-character: in no folder name
	ok, _ = path.Match(strings.ReplaceAll(pattern, "/", sep), strings.ReplaceAll(name, "/", sep))
	return ok, nil
}

// Select resolves opts against the catalog: which folders, and how many
// messages and bytes each contributes. It reads no message file.
func (a *Archive) Select(ctx context.Context, opts SelectOptions) (*Selection, error) {
	for _, p := range opts.Folders {
		if _, err := MatchFolder(p, Inbox); err != nil {
			return nil, err
		}
	}
	s := &Selection{a: a}
	if opts.Only != nil {
		only, err := a.messageRows(ctx, opts.Only)
		if err != nil {
			return nil, err
		}
		s.only = only
	}
	rows, err := a.rdb.QueryContext(ctx, `SELECT id, account, name FROM folders`)
	if err != nil {
		return nil, fmt.Errorf("listing folders: %w", err)
	}
	var cands []SelectedFolder
	for rows.Next() {
		var f SelectedFolder
		if err := rows.Scan(&f.id, &f.Account, &f.Name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing folders: %w", err)
		}
		if len(opts.Accounts) > 0 && !slices.Contains(opts.Accounts, f.Account) {
			continue
		}
		if len(opts.Folders) > 0 && !matchAny(opts.Folders, f.Name) {
			continue
		}
		cands = append(cands, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing folders: %w", err)
	}
	slices.SortFunc(cands, func(x, y SelectedFolder) int {
		if c := strings.Compare(x.Account, y.Account); c != 0 {
			return c
		}
		if (x.Name == Inbox) != (y.Name == Inbox) {
			if x.Name == Inbox {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Name, y.Name)
	})
	for _, f := range cands {
		maxUID, err := s.count(ctx, &f)
		if err != nil {
			return nil, err
		}
		if f.Messages == 0 {
			continue
		}
		s.folders = append(s.folders, f)
		s.maxUID = append(s.maxUID, maxUID)
	}
	return s, nil
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := MatchFolder(p, name); ok {
			return true
		}
	}
	return false
}

// count fills in a folder's totals and returns its highest UID.
func (s *Selection) count(ctx context.Context, f *SelectedFolder) (uint32, error) {
	rows, err := s.a.rdb.QueryContext(ctx, `SELECT e.uid, e.message, m.size, m.crlf_size FROM entries e JOIN messages m ON m.id = e.message WHERE e.folder_id = ?`, f.id)
	if err != nil {
		return 0, fmt.Errorf("counting %s/%s: %w", f.Account, f.Name, err)
	}
	defer rows.Close()
	var maxUID uint32
	for rows.Next() {
		var uid uint32
		var msg, size, crlf int64
		if err := rows.Scan(&uid, &msg, &size, &crlf); err != nil {
			return 0, fmt.Errorf("counting %s/%s: %w", f.Account, f.Name, err)
		}
		if s.only != nil {
			if _, ok := s.only[msg]; !ok {
				continue
			}
		}
		f.Messages++
		f.Bytes += size
		f.CRLFBytes += crlf
		maxUID = max(maxUID, uid)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("counting %s/%s: %w", f.Account, f.Name, err)
	}
	return maxUID, nil
}

// messageRows maps IDs to the catalog's message row ids; IDs the catalog
// lacks are left out.
func (a *Archive) messageRows(ctx context.Context, ids IDSet) (map[int64]struct{}, error) {
	out := make(map[int64]struct{}, len(ids))
	list := make([]ID, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	for start := 0; start < len(list); start += 500 {
		chunk := list[start:min(start+500, len(list))]
		args := make([]any, len(chunk))
		for i := range chunk {
			args[i] = chunk[i][:]
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")
		rows, err := a.rdb.QueryContext(ctx, `SELECT id FROM messages WHERE hash IN (`+marks+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("looking up selected messages: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("looking up selected messages: %w", err)
			}
			out[id] = struct{}{}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("looking up selected messages: %w", err)
		}
	}
	return out, nil
}

// Folders returns the selected folders that hold at least one selected
// entry, in iteration order.
func (s *Selection) Folders() []SelectedFolder { return slices.Clone(s.folders) }

// Totals returns the number of selected entries and their file and CRLF
// bytes.
func (s *Selection) Totals() (msgs, bytes, crlfBytes int64) {
	for _, f := range s.folders {
		msgs += f.Messages
		bytes += f.Bytes
		crlfBytes += f.CRLFBytes
	}
	return msgs, bytes, crlfBytes
}

// ErrStop may be returned by an Each callback to end the iteration early
// without an error.
var ErrStop = errors.New("stop")

// selectPage bounds one catalog query of Each: no long-lived read
// transaction, whatever the callback does meanwhile.
var selectPage = 1000

// Each calls fn for every selected entry in order. fn may do slow work
// (network I/O, writing receipts): Each holds no catalog cursor while fn
// runs. The entry is fn's to keep. Returning ErrStop from fn ends the
// iteration and Each returns nil; any other error is returned as it is.
func (s *Selection) Each(ctx context.Context, fn func(*SelectedEntry) error) error {
	for i := range s.folders {
		err := s.eachIn(ctx, i, fn)
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// EachIn is Each for the selected folder (account, name) only.
func (s *Selection) EachIn(ctx context.Context, account, name string, fn func(*SelectedEntry) error) error {
	for i, f := range s.folders {
		if f.Account == account && f.Name == name {
			err := s.eachIn(ctx, i, fn)
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *Selection) eachIn(ctx context.Context, i int, fn func(*SelectedEntry) error) error {
	f := s.folders[i]
	rel, err := FolderDir(f.Name)
	if err != nil {
		return err
	}
	cur := filepath.Join(s.a.MaildirRoot(), f.Account, rel, "cur")
	var after uint32
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, last, err := s.page(ctx, f, cur, after, s.maxUID[i])
		if err != nil {
			return err
		}
		if last == 0 {
			return nil
		}
		after = last
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
}

// page reads up to selectPage entries of f with UIDs in (after, maxUID]
// and returns those in Only and the last UID read (0 when none was left).
func (s *Selection) page(ctx context.Context, f SelectedFolder, cur string, after, maxUID uint32) ([]*SelectedEntry, uint32, error) {
	rows, err := s.a.rdb.QueryContext(ctx, `SELECT e.uid, e.message, m.hash, e.flags, e.internal_date, e.filename, m.size, m.crlf_size, m.message_id, m.from_addr
		FROM entries e JOIN messages m ON m.id = e.message
		WHERE e.folder_id = ? AND e.uid > ? AND e.uid <= ? ORDER BY e.uid LIMIT ?`, f.id, after, maxUID, selectPage)
	if err != nil {
		return nil, 0, fmt.Errorf("reading entries of %s/%s: %w", f.Account, f.Name, err)
	}
	defer rows.Close()
	var out []*SelectedEntry
	var last uint32
	for rows.Next() {
		e := &SelectedEntry{Account: f.Account, Folder: f.Name}
		var msg, date int64
		var hash []byte
		var flags, filename string
		if err := rows.Scan(&e.UID, &msg, &hash, &flags, &date, &filename, &e.Size, &e.CRLFSize, &e.MessageID, &e.From); err != nil {
			return nil, 0, fmt.Errorf("reading entries of %s/%s: %w", f.Account, f.Name, err)
		}
		last = e.UID
		if s.only != nil {
			if _, ok := s.only[msg]; !ok {
				continue
			}
		}
		copy(e.ID[:], hash)
		e.Flags = strings.Fields(flags)
		e.InternalDate = time.Unix(date, 0).UTC()
		e.Path = filepath.Join(cur, filename)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("reading entries of %s/%s: %w", f.Account, f.Name, err)
	}
	return out, last, nil
}
