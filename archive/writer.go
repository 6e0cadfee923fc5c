package archive

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/mailark/mailark/internal/durable"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Meta describes where a delivered message goes and what came with it.
type Meta struct {
	Account      string
	Folder       string    // IMAP name with '/' separator; "" means INBOX
	Flags        []string  // IMAP flags and keywords
	InternalDate time.Time // zero: the Date header, else DateFallback
	DateFallback time.Time // zero: the time of delivery
	// Source and Ref, when set, record that this message is known to a
	// source as Ref (an IMAP UID, a POP3 UIDL), in the same transaction as
	// the delivery: see Writer.SourceRef.
	Source, Ref string
}

// Status says what Deliver did with a message.
type Status int

const (
	// StatusNew: first time these bytes were seen; a new file.
	StatusNew Status = iota
	// StatusLinked: the bytes were already archived in another folder;
	// a hard link (or a copy where links are refused) was added.
	StatusLinked
	// StatusExists: the bytes were already in this folder; nothing changed.
	StatusExists
)

func (s Status) String() string {
	switch s {
	case StatusNew:
		return "new"
	case StatusLinked:
		return "linked"
	case StatusExists:
		return "exists"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Result is the outcome of one Deliver.
type Result struct {
	ID      ID
	Status  Status
	UID     uint32    // the message's UID in its folder
	Size    int64     // bytes as received and stored
	NearDup bool      // another message with the same Message-ID and other bytes exists
	Date    time.Time // the internal date this copy got
	Header  HeaderInfo
}

// SourceError wraps a failure to read the message from its source: the
// message was not stored, but the archive is fine and the run can go on.
// Any other error from Deliver or Commit means the archive itself failed
// (disk full, catalog error) and the run should stop.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return "reading message: " + e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// ErrEmptyMessage is a SourceError cause: zero bytes are not a message.
var ErrEmptyMessage = errors.New("empty message (0 bytes)")

// Batch limits: a batch is committed (one syncfs, one fsync per folder
// directory, one catalog commit) when any of these is reached. They bound
// the work a crash can undo, not what it can lose: nothing committed is
// ever lost, and nothing uncommitted was reported as archived.
const (
	defaultBatchMessages = 1000
	defaultBatchBytes    = 64 << 20
	defaultBatchAge      = 2 * time.Second
)

// Writer delivers messages into the archive in group-committed batches.
// Its methods are safe for concurrent use (Spool runs in parallel, the rest
// one at a time), so several importers can share one Writer; a batch then
// holds messages of all of them, and each importer's checkpoints still
// commit together with, or after, the messages before them.
type Writer struct {
	mu      sync.Mutex // serialises everything but Spool
	a       *Archive
	tx      *sql.Tx
	ops     []pendingOp
	dirs    map[string]struct{}  // cur/ directories touched by this batch
	staged  map[string]struct{}  // destination paths of this batch's ops
	txStmts map[string]*sql.Stmt // statements prepared on tx
	folders map[folderKey]*folderInfo
	bytes   int64
	started time.Time
	hooks   []func()
	head    headCapture // for adopt
	// accounts whose Maildir exists; Spool runs concurrently
	accounts sync.Map
	warned   bool // link fallback announced

	BatchMessages int
	BatchBytes    int64
	BatchAge      time.Duration
}

type folderKey struct{ account, name string }

type folderInfo struct {
	id  int64
	dir string // absolute path of the folder's Maildir
}

type pendingOp struct {
	tmp  string // file in tmp/ to rename (new messages)
	src  string // existing file to link (linked messages)
	dst  string // final path in cur/
	date time.Time
}

var tmpSeq atomic.Uint64

// NewWriter starts a writer. Files left in any tmp/ directory by a process
// that died are removed first: the lock guarantees they are nobody's.
func (a *Archive) NewWriter(ctx context.Context) (*Writer, error) {
	if a.ReadOnly() {
		return nil, errors.New("archive opened read-only")
	}
	if err := a.cleanTmp(); err != nil {
		return nil, err
	}
	return &Writer{
		a:             a,
		dirs:          map[string]struct{}{},
		staged:        map[string]struct{}{},
		txStmts:       map[string]*sql.Stmt{},
		folders:       map[folderKey]*folderInfo{},
		BatchMessages: defaultBatchMessages,
		BatchBytes:    defaultBatchBytes,
		BatchAge:      defaultBatchAge,
	}, nil
}

// Deliver stores one message read from r. It returns once the message is
// staged in the current batch: it counts as archived only after the next
// Commit returns nil (Deliver itself commits when the batch is full, before
// staging the new message, so state staged with SetState between two
// Delivers is always committed together with the messages before it).
func (w *Writer) Deliver(ctx context.Context, r io.Reader, m Meta) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := checkAccount(m.Account); err != nil {
		return Result{}, err
	}
	sp, err := w.Spool(m.Account, r)
	if err != nil {
		return Result{}, err
	}
	return w.DeliverSpooled(ctx, sp, m)
}

// Spooled is a message written to a temporary file in the archive and
// hashed, not yet filed: what Spool returns and DeliverSpooled takes.
type Spooled struct {
	path     string
	size     int64
	crlfSize int64
	id       ID
	header   HeaderInfo
}

// ID returns the message's identity.
func (s *Spooled) ID() ID { return s.id }

// Size returns the bytes received.
func (s *Spooled) Size() int64 { return s.size }

// Header returns what was read of the message's header.
func (s *Spooled) Header() HeaderInfo { return s.header }

// Discard removes the temporary file of a message that will not be delivered.
func (s *Spooled) Discard() {
	if s.path != "" {
		os.Remove(s.path)
		s.path = ""
	}
}

var spoolBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Spool streams r into a temporary file of the account's Maildir, hashing
// it and reading its header on the way. Unlike Deliver it is safe for
// concurrent use, so that several connections can receive at once while
// one goroutine files what they received with DeliverSpooled. A failure
// to read r is a *SourceError; nothing is left behind.
func (w *Writer) Spool(account string, r io.Reader) (*Spooled, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	acctDir := filepath.Join(w.a.MaildirRoot(), account)
	if _, ok := w.accounts.Load(account); !ok {
		if err := makeMaildir(acctDir, false); err != nil {
			return nil, err
		}
		w.accounts.Store(account, true)
	}
	bp := spoolBufs.Get().(*[]byte)
	defer spoolBufs.Put(bp)
	var head headCapture
	path, size, h, err := spoolTo(filepath.Join(acctDir, "tmp"), r, *bp, &head)
	if err != nil {
		return nil, err
	}
	return &Spooled{path: path, size: size, crlfSize: h.Size(), id: h.Sum(), header: parseHeaderInfo(head.buf)}, nil
}

// DeliverSpooled files a spooled message, as Deliver does; sp must not be
// used afterwards.
func (w *Writer) DeliverSpooled(ctx context.Context, sp *Spooled, m Meta) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deliverSpooled(ctx, sp, m)
}

func (w *Writer) deliverSpooled(ctx context.Context, sp *Spooled, m Meta) (Result, error) {
	tmp := sp.path
	sp.path = ""
	keep := false
	defer func() {
		if !keep {
			os.Remove(tmp)
		}
	}()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if w.full() {
		if err := w.commit(ctx); err != nil {
			return Result{}, err
		}
	}
	if m.Folder == "" {
		m.Folder = Inbox
	}
	if err := checkAccount(m.Account); err != nil {
		return Result{}, err
	}
	name, err := CanonicalFolder(m.Folder)
	if err != nil {
		return Result{}, err
	}
	if err := w.begin(ctx); err != nil {
		return Result{}, err
	}
	fi, err := w.folder(ctx, m.Account, name)
	if err != nil {
		return Result{}, err
	}
	size := sp.size
	res := Result{ID: sp.id, Size: size, Header: sp.header}
	date := m.InternalDate
	if date.IsZero() {
		date = res.Header.Date
	}
	if date.IsZero() || date.Unix() <= 0 {
		date = m.DateFallback
	}
	if date.IsZero() || date.Unix() <= 0 {
		date = time.Now()
	}
	date = date.Truncate(time.Second)
	flags := NormalizeFlags(m.Flags)

	var msgID int64
	var path string
	err = w.queryRow(ctx, `SELECT id, path FROM messages WHERE hash = ?`, res.ID[:]).Scan(&msgID, &path)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res.Status = StatusNew
	case err != nil:
		return res, fmt.Errorf("looking up %s: %w", res.ID.Short(), err)
	default:
		res.Status = StatusLinked // or StatusExists, which place decides
	}
	if res.Status != StatusNew {
		if w.present(path) {
			return w.place(ctx, fi, name, &res, msgID, path, date, flags, m)
		}
		// The catalog's copy is gone (deleted by hand, or lost): the bytes
		// we just spooled repair it, becoming the copy the catalog points to.
		w.a.log.Warn("archived file missing; storing the message again", "path", path, "id", res.ID.String())
		dst := filepath.Join(fi.dir, "cur", fileName(date, res.ID, flags))
		rel, err := filepath.Rel(w.a.MaildirRoot(), dst)
		if err != nil {
			return res, err
		}
		if _, err := w.exec(ctx, `UPDATE messages SET path = ?, indexed = 0, version = version + 1 WHERE id = ?`, rel, msgID); err != nil {
			return res, fmt.Errorf("repairing %s: %w", res.ID.Short(), err)
		}
		if err := os.Chtimes(tmp, date, date); err != nil {
			return res, fmt.Errorf("setting date of %s: %w", tmp, err)
		}
		res.Status = StatusLinked
		w.stage(pendingOp{tmp: tmp, dst: dst, date: date})
		keep = true
		return w.place(ctx, fi, name, &res, msgID, "", date, flags, m)
	}
	if err := os.Chtimes(tmp, date, date); err != nil {
		return res, fmt.Errorf("setting date of %s: %w", tmp, err)
	}
	var hdrDate any
	if !res.Header.Date.IsZero() {
		hdrDate = res.Header.Date.Unix()
	}
	base := fileName(date, res.ID, flags)
	dst := filepath.Join(fi.dir, "cur", base)
	rel, err := filepath.Rel(w.a.MaildirRoot(), dst)
	if err != nil {
		return res, err
	}
	err = w.queryRow(ctx, `INSERT INTO messages (hash, size, crlf_size, message_id, date, subject, from_addr, path, added)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		res.ID[:], size, sp.crlfSize, res.Header.MessageID, hdrDate, res.Header.Subject, res.Header.From, rel, time.Now().Unix()).Scan(&msgID)
	if err != nil {
		return res, fmt.Errorf("recording %s: %w", res.ID.Short(), err)
	}
	if res.Header.MessageID != "" {
		n, err := w.recordNearDups(ctx, res.Header.MessageID, msgID)
		if err != nil {
			return res, err
		}
		res.NearDup = n > 0
	}
	w.stage(pendingOp{tmp: tmp, dst: dst, date: date})
	keep = true
	return w.place(ctx, fi, name, &res, msgID, "", date, flags, m)
}

// AddToFolder files an already archived message (delivered earlier, in
// this batch or before) into another folder without reading it again:
// how one message with several Gmail labels lands in several folders.
func (w *Writer) AddToFolder(ctx context.Context, id ID, m Meta) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := checkAccount(m.Account); err != nil {
		return Result{}, err
	}
	name, err := CanonicalFolder(cmp.Or(m.Folder, Inbox))
	if err != nil {
		return Result{}, err
	}
	if err := w.begin(ctx); err != nil {
		return Result{}, err
	}
	fi, err := w.folder(ctx, m.Account, name)
	if err != nil {
		return Result{}, err
	}
	res := Result{ID: id, Status: StatusLinked}
	var msgID int64
	var path string
	if err := w.queryRow(ctx, `SELECT id, path, size FROM messages WHERE hash = ?`, id[:]).Scan(&msgID, &path, &res.Size); err != nil {
		return res, fmt.Errorf("looking up %s: %w", id.Short(), err)
	}
	date := m.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	return w.place(ctx, fi, name, &res, msgID, path, date.Truncate(time.Second), NormalizeFlags(m.Flags), m)
}

func fileName(date time.Time, id ID, flags []string) string {
	return fmt.Sprintf("%d.%s:2,%s", date.Unix(), id, MaildirInfo(flags))
}

// place adds the folder entry for message msgID. linkFrom is the path
// (relative to the maildir root) of an existing copy to link, or "" when
// the caller has staged a new file already.
func (w *Writer) place(ctx context.Context, fi *folderInfo, name string, res *Result, msgID int64, linkFrom string, date time.Time, flags []string, m Meta) (Result, error) {
	res.Date = date
	if linkFrom != "" {
		var uid uint32
		err := w.queryRow(ctx, `SELECT uid FROM entries WHERE folder_id = ? AND message = ?`, fi.id, msgID).Scan(&uid)
		if err == nil {
			res.Status, res.UID = StatusExists, uid
			return *res, w.sourceRef(ctx, m, msgID)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return *res, fmt.Errorf("looking up %s in %s: %w", res.ID.Short(), name, err)
		}
		res.Status = StatusLinked
		// The index document lists the message's folders: have it redone.
		if _, err := w.exec(ctx, `UPDATE messages SET indexed = 0, version = version + 1 WHERE id = ?`, msgID); err != nil {
			return *res, fmt.Errorf("recording %s in %s: %w", res.ID.Short(), name, err)
		}
		w.stage(pendingOp{
			src:  filepath.Join(w.a.MaildirRoot(), linkFrom),
			dst:  filepath.Join(fi.dir, "cur", fileName(date, res.ID, flags)),
			date: date,
		})
	}
	if err := w.queryRow(ctx, `UPDATE folders SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, fi.id).Scan(&res.UID); err != nil {
		return *res, fmt.Errorf("assigning a uid in %s: %w", name, err)
	}
	if _, err := w.exec(ctx, `INSERT INTO entries (folder_id, uid, message, flags, internal_date, filename) VALUES (?, ?, ?, ?, ?, ?)`,
		fi.id, res.UID, msgID, joinFlags(flags), date.Unix(), fileName(date, res.ID, flags)); err != nil {
		return *res, fmt.Errorf("recording %s in %s: %w", res.ID.Short(), name, err)
	}
	w.dirs[filepath.Join(fi.dir, "cur")] = struct{}{}
	if res.Status == StatusNew {
		w.bytes += res.Size
	}
	return *res, w.sourceRef(ctx, m, msgID)
}

// exec and queryRow run a statement in the batch transaction, prepared
// once per batch: parsing SQL per message costs more than executing it.
func (w *Writer) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := w.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (w *Writer) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := w.prepared(ctx, query)
	if err != nil {
		return w.tx.QueryRowContext(ctx, query, args...) // reports err through Scan
	}
	return st.QueryRowContext(ctx, args...)
}

func (w *Writer) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.txStmts[query]; ok {
		return st, nil
	}
	// Prepared on the transaction (the writer's only connection is busy
	// with it); a batch of a thousand messages pays the parse once.
	st, err := w.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing %q: %w", query, err)
	}
	w.txStmts[query] = st
	return st, nil
}

func (w *Writer) stage(op pendingOp) {
	w.ops = append(w.ops, op)
	w.staged[op.dst] = struct{}{}
}

// present reports whether the copy at rel (relative to the maildir root)
// exists on disk or will once this batch commits.
func (w *Writer) present(rel string) bool {
	abs := filepath.Join(w.a.MaildirRoot(), rel)
	if _, ok := w.staged[abs]; ok {
		return true
	}
	_, err := os.Lstat(abs)
	return err == nil
}

// spoolTo streams r into a new file in dir, hashing and capturing the
// header on the way.
func spoolTo(dir string, r io.Reader, buf []byte, head *headCapture) (string, int64, *Hasher, error) {
	name := fmt.Sprintf("%d.%d_%d.mailark", time.Now().UnixNano(), os.Getpid(), tmpSeq.Add(1))
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, nil, fmt.Errorf("creating %s: %w", path, err)
	}
	h := NewHasher()
	var n int64
	var rerr, werr error
	for {
		k, err := r.Read(buf)
		if k > 0 {
			chunk := buf[:k]
			if _, werr = f.Write(chunk); werr != nil {
				break
			}
			h.Write(chunk)
			head.Write(chunk)
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	cerr := f.Close()
	switch {
	case rerr != nil:
		os.Remove(path)
		return "", 0, nil, &SourceError{Err: rerr}
	case werr != nil:
		os.Remove(path)
		return "", 0, nil, fmt.Errorf("writing %s: %w", path, werr)
	case cerr != nil:
		os.Remove(path)
		return "", 0, nil, fmt.Errorf("writing %s: %w", path, cerr)
	case n == 0:
		os.Remove(path)
		return "", 0, nil, &SourceError{Err: ErrEmptyMessage}
	}
	return path, n, h, nil
}

func (w *Writer) recordNearDups(ctx context.Context, messageID string, id int64) (int64, error) {
	res, err := w.exec(ctx, `INSERT OR IGNORE INTO near_dups (message_id, a, b)
		SELECT ?, id, ? FROM messages WHERE message_id = ? AND message_id <> '' AND id <> ? LIMIT 100`, messageID, id, messageID, id)
	if err != nil {
		return 0, fmt.Errorf("recording near-duplicates of <%s>: %w", messageID, err)
	}
	return res.RowsAffected()
}

func (w *Writer) sourceRef(ctx context.Context, m Meta, msgID int64) error {
	if m.Source == "" {
		return nil
	}
	if _, err := w.exec(ctx, `INSERT OR REPLACE INTO source_refs (source, ref, message) VALUES (?, ?, ?)`, m.Source, m.Ref, msgID); err != nil {
		return fmt.Errorf("recording source ref %s %s: %w", m.Source, m.Ref, err)
	}
	return nil
}

// SetState stages a sync-state value (an importer's checkpoint) in the
// current batch, so it becomes durable exactly when the messages delivered
// before it do.
func (w *Writer) SetState(ctx context.Context, source, key, value string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(ctx); err != nil {
		return err
	}
	if _, err := w.exec(ctx, `INSERT OR REPLACE INTO sync_state (source, key, value) VALUES (?, ?, ?)`, source, key, value); err != nil {
		return fmt.Errorf("saving state %s %s: %w", source, key, err)
	}
	return nil
}

// State reads a sync-state value, including one staged but not committed.
func (w *Writer) State(ctx context.Context, source, key string) (string, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.begin(ctx); err != nil {
		return "", false, err
	}
	var v string
	err := w.queryRow(ctx, `SELECT value FROM sync_state WHERE source = ? AND key = ?`, source, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading state %s %s: %w", source, key, err)
	}
	return v, true, nil
}

// AfterCommit registers fn to run once everything staged so far is
// durable: a POP3 DELE, for example, must never run earlier. fn runs on
// whichever goroutine commits, with the Writer locked: it must not call the
// Writer, and must synchronise what it touches.
func (w *Writer) AfterCommit(fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hooks = append(w.hooks, fn)
}

// Pending returns the number of messages staged but not yet committed.
func (w *Writer) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.ops)
}

func (w *Writer) full() bool {
	if len(w.ops) == 0 {
		return false
	}
	return len(w.ops) >= w.BatchMessages || w.bytes >= w.BatchBytes || time.Since(w.started) >= w.BatchAge
}

func (w *Writer) begin(ctx context.Context) error {
	if w.tx != nil {
		return nil
	}
	// database/sql rolls a transaction back when its context ends; a batch
	// must survive an interrupt so that what was complete gets committed.
	tx, err := w.a.db.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("starting catalog transaction: %w", err)
	}
	w.tx, w.started = tx, time.Now()
	return nil
}

// Commit makes the batch durable: file data first (syncfs), then the
// renames and links into cur/ (fsync of each directory), then the catalog
// rows. A crash before the catalog commit leaves files the catalog does
// not know; the next delivery of the same message adopts them (the name is
// the same), and verify reports any that remain.
func (w *Writer) Commit(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commit(ctx)
}

func (w *Writer) commit(ctx context.Context) error {
	if w.tx == nil {
		return nil
	}
	err := w.commitFiles()
	if err == nil {
		err = w.tx.Commit()
		if err != nil {
			err = fmt.Errorf("committing catalog: %w", err)
		}
	}
	if err != nil {
		w.tx.Rollback()
		for _, op := range w.ops {
			if op.tmp != "" {
				os.Remove(op.tmp)
			}
		}
	}
	hooks := w.hooks
	w.reset()
	if err != nil {
		return err
	}
	for _, fn := range hooks {
		fn()
	}
	return nil
}

func (w *Writer) reset() {
	w.tx, w.ops, w.hooks, w.bytes = nil, w.ops[:0], nil, 0
	clear(w.dirs)
	clear(w.staged)
	clear(w.txStmts)
	// Folder rows created inside a rolled-back transaction are gone; the
	// cache must not outlive the transaction that made them.
	clear(w.folders)
}

func (w *Writer) commitFiles() error {
	if len(w.ops) == 0 {
		return nil
	}
	if err := w.syncData(); err != nil {
		return err
	}
	for i := range w.ops {
		op := &w.ops[i]
		if op.tmp != "" {
			if err := os.Rename(op.tmp, op.dst); err != nil {
				return fmt.Errorf("moving message into %s: %w", op.dst, err)
			}
			op.tmp = ""
			continue
		}
		if err := w.link(op.src, op.dst, op.date); err != nil {
			return err
		}
	}
	for dir := range w.dirs {
		if err := durable.Dir(dir); err != nil {
			return err
		}
	}
	return nil
}

// syncData makes the data of every new file durable before any of them
// becomes visible in cur/.
func (w *Writer) syncData() error {
	var tmps []string
	for _, op := range w.ops {
		if op.tmp != "" {
			tmps = append(tmps, op.tmp)
		}
	}
	return durable.Files(tmps)
}

// link adds a second name for an archived file. Where the file system
// refuses hard links, it copies instead (durably) and says so once.
func (w *Writer) link(src, dst string, date time.Time) error {
	err := os.Link(src, dst)
	if err == nil || errors.Is(err, os.ErrExist) {
		return nil
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) || !(errno == syscall.EXDEV || errno == syscall.EPERM || errno == syscall.EMLINK || errno == syscall.ENOTSUP) {
		return fmt.Errorf("linking %s: %w", dst, err)
	}
	if !w.warned {
		w.a.log.Warn("file system refuses hard links; storing copies instead", "error", err)
		w.warned = true
	}
	return copyFile(src, dst, date)
}

func copyFile(src, dst string, date time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", src, err)
	}
	defer in.Close()
	tmp := filepath.Join(filepath.Dir(filepath.Dir(dst)), "tmp", fmt.Sprintf("%d.%d_%d.copy", time.Now().UnixNano(), os.Getpid(), tmpSeq.Add(1)))
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("copying to %s: %w", tmp, err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, date, date)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return nil
}

// Close commits what is pending.
func (w *Writer) Close(ctx context.Context) error { return w.Commit(ctx) }

// Abort drops the batch: nothing staged since the last Commit is kept.
func (w *Writer) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tx == nil {
		return
	}
	w.tx.Rollback()
	for _, op := range w.ops {
		if op.tmp != "" {
			os.Remove(op.tmp)
		}
	}
	w.reset()
}

// Archive returns the archive w writes into.
func (w *Writer) Archive() *Archive { return w.a }
