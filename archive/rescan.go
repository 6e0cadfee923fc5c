package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RescanReport says what Rescan changed in the catalog.
type RescanReport struct {
	Files    int       `json:"files"`
	Adopted  int       `json:"adopted"` // files the catalog did not know, now recorded
	Dropped  int       `json:"dropped"` // catalog entries whose file is gone, removed
	Problems []Problem `json:"problems"`
}

// Rescan brings the catalog's folder entries in line with the message
// files, which are the truth: a file the catalog does not know (left by a
// run killed between writing and committing, or copied in by hand with a
// mailark name) is adopted after its bytes are checked against its name,
// and an entry whose file is gone is dropped. Files with other names are
// reported and left alone.
func (a *Archive) Rescan(ctx context.Context) (*RescanReport, error) {
	rep := &RescanReport{Problems: []Problem{}}
	want, err := a.catalogFiles(ctx)
	if err != nil {
		return nil, err
	}
	type orphan struct {
		rel string
		id  ID
	}
	var orphans []orphan
	err = a.walkMessageFiles(func(rel string, fi os.FileInfo) {
		rep.Files++
		_, id, _, perr := ParseFileName(filepath.Base(rel))
		if perr != nil {
			rep.Problems = append(rep.Problems, Problem{ProblemForeign, rel, perr.Error()})
			return
		}
		if _, ok := want[rel]; ok {
			delete(want, rel)
			return
		}
		orphans = append(orphans, orphan{rel, id})
	})
	if err != nil {
		return nil, err
	}
	w, err := a.NewWriter(ctx)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	for rel := range want {
		if err := w.dropEntry(ctx, rel); err != nil {
			return nil, err
		}
		rep.Dropped++
	}
	for _, o := range orphans {
		if err := w.adopt(ctx, o.rel, o.id); err != nil {
			var p *Problem
			if errors.As(err, &p) {
				rep.Problems = append(rep.Problems, *p)
				continue
			}
			return nil, err
		}
		rep.Adopted++
	}
	if err := w.Commit(ctx); err != nil {
		return nil, err
	}
	return rep, nil
}

func (p *Problem) Error() string { return p.Kind + " " + p.Path + ": " + p.Detail }

// splitRel splits "account/.Folder/cur/name" into its parts.
func splitRel(rel string) (account, folder, sub, name string, err error) {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	switch len(parts) {
	case 3:
		account, sub, name = parts[0], parts[1], parts[2]
		folder = Inbox
	case 4:
		account, sub, name = parts[0], parts[2], parts[3]
		if folder, err = FolderFromDir(parts[1]); err != nil {
			return
		}
	default:
		err = fmt.Errorf("unexpected path %s", rel)
	}
	return
}

func (w *Writer) dropEntry(ctx context.Context, rel string) error {
	account, folder, _, name, err := splitRel(rel)
	if err != nil {
		return err
	}
	if err := w.begin(ctx); err != nil {
		return err
	}
	var msgID int64
	err = w.queryRow(ctx, `DELETE FROM entries WHERE filename = ? AND folder_id = (SELECT id FROM folders WHERE account = ? AND name = ?) RETURNING message`,
		name, account, folder).Scan(&msgID)
	if err != nil {
		return fmt.Errorf("dropping entry %s: %w", rel, err)
	}
	// The message row goes when no copy is left; otherwise it must point
	// at a copy that exists and be re-indexed without this folder.
	var left int
	if err := w.queryRow(ctx, `SELECT count(*) FROM entries WHERE message = ?`, msgID).Scan(&left); err != nil {
		return fmt.Errorf("dropping entry %s: %w", rel, err)
	}
	if left == 0 {
		for _, q := range []string{`DELETE FROM near_dups WHERE a = ? OR b = ?`, `DELETE FROM source_refs WHERE message = ?`, `DELETE FROM messages WHERE id = ?`} {
			args := []any{msgID}
			if strings.Count(q, "?") == 2 {
				args = append(args, msgID)
			}
			if _, err := w.exec(ctx, q, args...); err != nil {
				return fmt.Errorf("dropping message of %s: %w", rel, err)
			}
		}
		return nil
	}
	if _, err := w.exec(ctx, `UPDATE messages SET indexed = 0, version = version + 1 WHERE id = ?`, msgID); err != nil {
		return fmt.Errorf("updating message of %s: %w", rel, err)
	}
	return w.fixPath(ctx, msgID)
}

// fixPath points a message row at one of its existing copies.
func (w *Writer) fixPath(ctx context.Context, msgID int64) error {
	var account, folder, name string
	if err := w.queryRow(ctx, `SELECT f.account, f.name, e.filename FROM entries e JOIN folders f ON f.id = e.folder_id WHERE e.message = ? LIMIT 1`, msgID).
		Scan(&account, &folder, &name); err != nil {
		return fmt.Errorf("finding a copy of message %d: %w", msgID, err)
	}
	dir, err := FolderDir(folder)
	if err != nil {
		return err
	}
	_, err = w.exec(ctx, `UPDATE messages SET path = ? WHERE id = ?`, filepath.Join(account, dir, "cur", name), msgID)
	return err
}

// adopt records an existing file in cur/ (or new/, which is left where it
// is but recorded under its name in cur/ only if it is there).
func (w *Writer) adopt(ctx context.Context, rel string, id ID) error {
	account, folder, sub, name, err := splitRel(rel)
	if err != nil {
		return &Problem{ProblemForeign, rel, err.Error()}
	}
	if sub != "cur" {
		return &Problem{ProblemForeign, rel, "mailark keeps its files in cur/; move it there to adopt it"}
	}
	if err := checkAccount(account); err != nil {
		return &Problem{ProblemForeign, rel, err.Error()}
	}
	abs := filepath.Join(w.a.MaildirRoot(), rel)
	f, err := os.Open(abs)
	if err != nil {
		return &Problem{ProblemMissing, rel, err.Error()}
	}
	h := NewHasher()
	w.head.reset()
	size, err := io.Copy(io.MultiWriter(h, &w.head), f)
	f.Close()
	if err != nil {
		return &Problem{ProblemCorrupt, rel, err.Error()}
	}
	if h.Sum() != id {
		return &Problem{ProblemCorrupt, rel, "content hashes to " + h.Sum().String() + "; not adopted"}
	}
	date, _, info, _ := ParseFileName(name)
	if err := w.begin(ctx); err != nil {
		return err
	}
	fi, err := w.folder(ctx, account, folder)
	if err != nil {
		return err
	}
	hdr := parseHeaderInfo(w.head.buf)
	var msgID int64
	err = w.queryRow(ctx, `SELECT id FROM messages WHERE hash = ?`, id[:]).Scan(&msgID)
	if err != nil {
		var hdrDate any
		if !hdr.Date.IsZero() {
			hdrDate = hdr.Date.Unix()
		}
		if err := w.queryRow(ctx, `INSERT INTO messages (hash, size, crlf_size, message_id, date, subject, from_addr, path, added)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			id[:], size, h.Size(), hdr.MessageID, hdrDate, hdr.Subject, hdr.From, rel, time.Now().Unix()).Scan(&msgID); err != nil {
			return fmt.Errorf("adopting %s: %w", rel, err)
		}
	} else if _, err := w.exec(ctx, `UPDATE messages SET indexed = 0, version = version + 1 WHERE id = ?`, msgID); err != nil {
		return fmt.Errorf("adopting %s: %w", rel, err)
	}
	var uid uint32
	if err := w.queryRow(ctx, `UPDATE folders SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, fi.id).Scan(&uid); err != nil {
		return fmt.Errorf("adopting %s: %w", rel, err)
	}
	if _, err := w.exec(ctx, `INSERT OR IGNORE INTO entries (folder_id, uid, message, flags, internal_date, filename) VALUES (?, ?, ?, ?, ?, ?)`,
		fi.id, uid, msgID, joinFlags(FlagsFromInfo(info)), date, name); err != nil {
		return fmt.Errorf("adopting %s: %w", rel, err)
	}
	return nil
}
