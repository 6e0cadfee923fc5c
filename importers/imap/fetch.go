package imap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
)

// fetchOptions: UID FETCH ... (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]).
// PEEK leaves \Seen alone; EXAMINE makes sure nothing else changes either.
var fetchOptions = &imap.FetchOptions{
	UID: true, Flags: true, InternalDate: true, RFC822Size: true,
	BodySection: []*imap.FetchItemBodySection{{Peek: true}},
}

// examine runs a jobExamine: EXAMINE the folder, decide from UIDVALIDITY,
// UIDNEXT and the saved state what to fetch, and queue it.
func (r *runner) examine(ctx context.Context, s *session, j *job) error {
	f := j.f
	start := time.Now()
	sel, err := r.selectFolder(s, f)
	if err != nil {
		return r.examineFailed(ctx, j, err)
	}
	fr := f.rep
	fr.UIDValidity, fr.Messages = sel.UIDValidity, sel.NumMessages
	f.validity = sel.UIDValidity

	last, retry := f.savedLast, f.savedFailed
	reset := f.savedValidity != 0 && f.savedValidity != sel.UIDValidity
	if reset {
		last, retry = 0, nil
		fr.UIDValidityReset = true
		note := fmt.Sprintf("UIDVALIDITY changed from %d to %d: folder read again from UID 1 (messages already archived are not stored twice)", f.savedValidity, sel.UIDValidity)
		fr.addNote(note)
		// Also a warning in the run report (and so the audit log): the
		// server renumbered the folder, which the user may want to know.
		r.problem("imap:"+f.name, errors.New(note), false)
		r.log.Warn("UIDVALIDITY changed; rescanning the folder", "folder", f.name, "old", f.savedValidity, "new", sel.UIDValidity)
	}
	var floor uint32
	if sel.UIDNext > 0 {
		floor = uint32(sel.UIDNext) - 1
	}
	var list []uidSize
	// UIDNEXT says whether anything is new without listing a single UID:
	// what keeps a rerun down to one EXAMINE per folder.
	if sel.NumMessages > 0 && (sel.UIDNext == 0 || uint32(sel.UIDNext) > last+1) {
		if list, err = r.listUIDs(s, f, last+1); err != nil {
			return r.examineFailed(ctx, j, err)
		}
	}
	if len(retry) > 0 {
		listed := make(map[uint32]bool, len(list))
		for _, e := range list {
			listed[e.uid] = true
		}
		for _, u := range retry {
			if !listed[u] {
				list = append(list, uidSize{uid: u})
			}
		}
		slices.SortFunc(list, byUID)
	}
	uids := make([]uint32, len(list))
	var bytes int64
	for i, e := range list {
		uids[i] = e.uid
		bytes += e.size
	}
	fr.ToFetch, fr.ToFetchBytes = len(uids), bytes
	fr.touch(start)
	if r.o.DryRun || len(uids) == 0 && !reset && floor <= last && len(retry) == 0 {
		fr.touch(time.Now())
		r.log.Info("folder examined", "folder", f.name, "messages", sel.NumMessages, "to_fetch", len(uids))
		return nil
	}
	r.log.Info("folder examined", "folder", f.name, "messages", sel.NumMessages, "to_fetch", len(uids), "bytes", bytes)
	r.prog.AddTotal(int64(len(uids)), bytes)
	if err := r.send(ctx, event{kind: evPlan, f: f, uids: uids, floor: floor, last: last, validity: sel.UIDValidity, failed: retry}); err != nil {
		return err
	}
	if sel.NumMessages == 0 {
		if len(uids) == 0 {
			return nil
		}
		// Only earlier failures were left, and the folder is empty now.
		return r.send(ctx, event{kind: evGone, f: f, uids: uids})
	}
	var batch []uint32
	var size int64
	for _, e := range list {
		if len(batch) > 0 && (len(batch) >= r.o.BatchMessages || size+e.size > r.o.BatchBytes) {
			r.q.push(&job{kind: jobFetch, f: f, uids: batch})
			batch, size = nil, 0
		}
		batch = append(batch, e.uid)
		size += e.size
	}
	if len(batch) > 0 {
		r.q.push(&job{kind: jobFetch, f: f, uids: batch})
	}
	return nil
}

// examineFailed handles an error of EXAMINE or the UID listing: a
// server's NO is the folder's problem; a lost connection puts the job
// back, unless it keeps happening.
func (r *runner) examineFailed(ctx context.Context, j *job, err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		r.send(ctx, event{kind: evProblem, f: j.f, err: err, fatal: true})
		return nil
	}
	j.attempts++
	if j.attempts >= r.o.MaxRetries {
		r.send(ctx, event{kind: evProblem, f: j.f, err: fmt.Errorf("gave up after %d lost connections: %w", j.attempts, err), fatal: true})
	} else {
		r.q.push(j)
	}
	return &connError{err: unwrapConn(err), attempts: j.attempts}
}

// unwrapConn returns the cause inside a *connError.
func unwrapConn(err error) error {
	var ce *connError
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

type uidSize struct {
	uid  uint32
	size int64
}

func byUID(a, b uidSize) int { return cmp.Compare(a.uid, b.uid) }

// selectFolder EXAMINEs f: SELECT read-only, so that nothing in the
// folder can change through this connection.
func (r *runner) selectFolder(s *session, f *folder) (*imap.SelectData, error) {
	s.selected = nil
	s.conn.arm()
	sel, err := s.c.Select(f.mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	s.conn.disarm()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && (ie.Code == imap.ResponseCodeNonExistent || s.unlisted(f.mailbox)) {
			// Listed a moment ago: deleted on the server since.
			return nil, fmt.Errorf("examining %s: the folder no longer exists on the server (deleted after it was listed): %w", f.name, err)
		}
		return nil, s.annotate(fmt.Errorf("examining %s: %w", f.name, err))
	}
	s.selected = f
	return sel, nil
}

// unlisted reports whether LIST no longer shows mailbox: after a refused
// EXAMINE, it tells a deleted folder from one the server will not open
// (Dovecot's NO carries no [NONEXISTENT] code). Any doubt means listed.
func (s *session) unlisted(mailbox string) bool {
	s.conn.arm()
	defer s.conn.disarm()
	list, err := s.c.List("", mailbox, nil).Collect()
	if err != nil {
		return false
	}
	for _, m := range list {
		if m.Mailbox == mailbox && !slices.Contains(m.Attrs, imap.MailboxAttrNonExistent) {
			return false
		}
	}
	return true
}

// listUIDs returns the UIDs from `from` upwards with their RFC822.SIZE:
// UID FETCH from:* (UID RFC822.SIZE). ("from:*" also returns the last
// message when from is above it; it is filtered out.)
func (r *runner) listUIDs(s *session, f *folder, from uint32) ([]uidSize, error) {
	var set imap.UIDSet
	set.AddRange(imap.UID(from), 0)
	s.conn.arm()
	defer s.conn.disarm()
	fc := s.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true})
	var out []uidSize
	for md := fc.Next(); md != nil; md = fc.Next() {
		var e uidSize
		for it := md.Next(); it != nil; it = md.Next() {
			switch x := it.(type) {
			case imapclient.FetchItemDataUID:
				e.uid = uint32(x.UID)
			case imapclient.FetchItemDataRFC822Size:
				e.size = x.Size
			}
		}
		if e.uid >= from {
			out = append(out, e)
		}
	}
	if err := fc.Close(); err != nil {
		return nil, s.annotate(fmt.Errorf("listing new messages in %s: %w", f.name, err))
	}
	slices.SortFunc(out, byUID)
	return slices.CompactFunc(out, func(a, b uidSize) bool { return a.uid == b.uid }), nil
}

// received is one message as it comes in.
type received struct {
	uid     uint32
	flags   []string
	date    time.Time
	sp      *archive.Spooled
	err     error // the message cannot be archived (NIL or empty body)
	nilBody bool  // BODY[] was NIL (even if a later BODY[] set another err)
	items   int   // of the five requested
}

func (m *received) complete() bool { return m.items == 5 }

func (m *received) discard() {
	if m != nil && m.sp != nil {
		m.sp.Discard()
		m.sp = nil
	}
}

// fetch runs a jobFetch: one UID FETCH of a batch, every message streamed
// into the archive's spool and handed to the writer once its response is
// complete.
func (r *runner) fetch(ctx context.Context, s *session, j *job) error {
	f := j.f
	if f.aborted.Load() {
		return nil
	}
	if s.selected != f {
		sel, err := r.selectFolder(s, f)
		var ie *imap.Error
		switch {
		case errors.As(err, &ie):
			f.aborted.Store(true)
			return r.send(ctx, event{kind: evProblem, f: f, err: err, fatal: true})
		case err != nil:
			return r.lost(ctx, j, j.uids, false, err)
		case sel.UIDValidity != f.validity:
			f.aborted.Store(true)
			return r.send(ctx, event{kind: evProblem, f: f, fatal: true,
				err: fmt.Errorf("UIDVALIDITY changed during the import (%d, now %d): folder left for the next run, which reads it again", f.validity, sel.UIDValidity)})
		}
	}

	got := make(map[uint32]bool, len(j.uids))
	// A NIL or missing body is what servers send for a message another
	// client expunged since this session last synced (RFC 2180 4.1.3;
	// Dovecot sends NIL): fetched again alone, after the server has told
	// this session, it is either there or not returned at all (gone).
	var again []uint32
	defer func() { r.fetchEach(f, again) }()
	hand := func(m *received) error {
		if (m.nilBody || m.err == nil && m.sp == nil) && !j.single {
			m.discard()
			again = append(again, m.uid)
			return nil
		}
		return r.hand(ctx, f, m)
	}
	var held *received // complete only when the next message or the tagged OK arrives
	s.conn.arm()
	defer s.conn.disarm()
	fc := s.c.Fetch(uidSet(j.uids), fetchOptions)
	var ferr error
	var md *imapclient.FetchMessageData
	var lit *literal // md's body literal
	for md = fc.Next(); md != nil; md = fc.Next() {
		if held != nil {
			if ferr = hand(held); ferr != nil {
				delete(got, held.uid)
				held = nil
				break
			}
			held = nil
		}
		var m *received
		if m, lit, ferr = r.receive(f, md); ferr != nil {
			m.discard()
			break
		}
		if _, want := slices.BinarySearch(j.uids, m.uid); !want || got[m.uid] {
			m.discard()
			continue
		}
		got[m.uid] = true
		if m.complete() || m.err != nil {
			if ferr = hand(m); ferr != nil {
				delete(got, m.uid)
				break
			}
			continue
		}
		held = m
	}
	if ferr != nil {
		s.abandon(fc, md, lit)
		if held != nil {
			held.discard()
			delete(got, held.uid)
		}
		var ce *connError
		if errors.As(ferr, &ce) {
			return r.lost(ctx, j, missing(j.uids, got), len(got) > 0, ferr)
		}
		return ferr
	}
	cerr := fc.Close()
	var ie *imap.Error
	switch {
	case cerr == nil || errors.As(cerr, &ie):
		// The tagged response came: what arrived is complete.
		if held != nil {
			if err := hand(held); err != nil {
				return err
			}
		}
	default:
		if held != nil {
			held.discard()
			delete(got, held.uid)
		}
		return r.lost(ctx, j, missing(j.uids, got), len(got) > 0, s.annotate(fmt.Errorf("fetching from %s: %w", f.name, cerr)))
	}
	rest := missing(j.uids, got)
	if len(rest) == 0 {
		return nil
	}
	if cerr == nil {
		// Not returned by a successful UID FETCH: expunged meanwhile.
		return r.send(ctx, event{kind: evGone, f: f, uids: rest})
	}
	// The server refused (part of) the batch. One UID: that message
	// failed. Several: ask for each alone, to find the ones at fault.
	if len(rest) == 1 || j.single {
		for _, u := range rest {
			if err := r.send(ctx, event{kind: evFailed, f: f, uid: u, err: fmt.Errorf("fetch uid %d: %w", u, cerr)}); err != nil {
				return err
			}
		}
		return nil
	}
	r.log.Warn("server refused a batch; fetching its messages one by one", "folder", f.name, "uids", len(rest), "error", cerr)
	r.fetchEach(f, rest)
	return nil
}

// fetchEach queues a single fetch of each of uids in f.
func (r *runner) fetchEach(f *folder, uids []uint32) {
	for _, u := range uids {
		r.q.push(&job{kind: jobFetch, f: f, uids: []uint32{u}, single: true})
	}
}

// lost puts the unfinished part of j back after a lost connection. A job
// that loses the connection MaxRetries times in a row without receiving
// anything gives up on its first UID, where the connection keeps dying.
func (r *runner) lost(ctx context.Context, j *job, rest []uint32, progress bool, cause error) error {
	cause = unwrapConn(cause)
	attempts := j.attempts + 1
	if progress {
		attempts = 1
	}
	if attempts >= r.o.MaxRetries && len(rest) > 0 {
		u := rest[0]
		if err := r.send(ctx, event{kind: evFailed, f: j.f, uid: u,
			err: fmt.Errorf("fetch uid %d: gave up after %d lost connections: %w", u, attempts, cause)}); err != nil {
			return err
		}
		rest, attempts = rest[1:], 0
	}
	if len(rest) > 0 {
		r.q.push(&job{kind: jobFetch, f: j.f, uids: rest, attempts: attempts, single: j.single})
	}
	return &connError{err: cause, attempts: attempts}
}

func missing(uids []uint32, got map[uint32]bool) []uint32 {
	var out []uint32
	for _, u := range uids {
		if !got[u] {
			out = append(out, u)
		}
	}
	return out
}

// receive reads one message's items, spooling the body, and returns the
// body's literal. An error is the connection's (*connError) or the
// archive's; a message that cannot be archived has m.err set instead.
func (r *runner) receive(f *folder, md *imapclient.FetchMessageData) (*received, *literal, error) {
	m := &received{}
	var lit *literal
	for it := md.Next(); it != nil; it = md.Next() {
		switch x := it.(type) {
		case imapclient.FetchItemDataUID:
			m.uid = uint32(x.UID)
			m.items++
		case imapclient.FetchItemDataFlags:
			m.flags = make([]string, len(x.Flags))
			for i, fl := range x.Flags {
				m.flags[i] = string(fl)
			}
			m.items++
		case imapclient.FetchItemDataInternalDate:
			m.date = x.Time
			m.items++
		case imapclient.FetchItemDataRFC822Size:
			m.items++
		case imapclient.FetchItemDataBodySection:
			m.items++
			if x.Literal == nil {
				m.err = errors.New("the server sent no body (NIL) twice: most likely expunged by another client meanwhile; retried on the next run")
				m.nilBody = true
				continue
			}
			lit = &literal{r: x.Literal, size: x.Literal.Size()}
			if m.sp != nil {
				m.err = errors.New("the server sent the body twice")
				io.Copy(io.Discard, lit)
				if lit.short() {
					return m, lit, &connError{err: fmt.Errorf("fetch uid %d: connection lost in the body: %w", m.uid, lit.err)}
				}
				continue
			}
			sp, err := r.w.Spool(r.o.Account, lit)
			if err != nil {
				var se *archive.SourceError
				switch {
				case lit.short():
					return m, lit, &connError{err: fmt.Errorf("fetch uid %d: connection lost after %d of %d bytes: %w", m.uid, lit.n, lit.size, err)}
				case errors.As(err, &se):
					m.err = fmt.Errorf("fetch uid %d: %w", m.uid, err)
					continue
				default:
					return m, lit, fmt.Errorf("fetch uid %d: %w", m.uid, err)
				}
			}
			m.sp = sp
		}
	}
	return m, lit, nil
}

// abandon gives up a FETCH after an error. go-imap's reader goroutine
// waits until a literal handed out is read to its end or to an error, and
// then reads on by itself: a literal must therefore be read until it
// ends, but never again once a read of it failed (that would race with
// the goroutine, which is also what FetchCommand.Close would do). The
// connection is closed first, so every read from here on fails fast.
func (s *session) abandon(fc *imapclient.FetchCommand, md *imapclient.FetchMessageData, lit *literal) {
	s.conn.Conn.Close()
	defer s.abort()
	if lit != nil && lit.err == nil {
		io.Copy(io.Discard, lit)
	}
	if lit != nil && lit.short() {
		return
	}
	for ; md != nil; md = fc.Next() {
		for it := md.Next(); it != nil; it = md.Next() {
			if b, ok := it.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
				l := &literal{r: b.Literal, size: b.Literal.Size()}
				io.Copy(io.Discard, l)
				if l.short() {
					return
				}
			}
		}
	}
	fc.Close()
}

// hand passes a finished message to the writer.
func (r *runner) hand(ctx context.Context, f *folder, m *received) error {
	if m.err == nil && m.sp == nil {
		m.err = errors.New("the server sent no BODY[] for it")
	}
	if m.err != nil {
		m.discard()
		return r.send(ctx, event{kind: evFailed, f: f, uid: m.uid, err: m.err})
	}
	ev := event{kind: evMessage, f: f, uid: m.uid, sp: m.sp, meta: archive.Meta{
		Account:      r.o.Account,
		Folder:       f.name,
		Flags:        m.flags, // \Recent is dropped by the archive
		InternalDate: m.date,
		Source:       f.source,
		Ref:          strconv.FormatUint(uint64(f.validity), 10) + ":" + strconv.FormatUint(uint64(m.uid), 10),
	}}
	m.sp = nil
	return r.send(ctx, ev)
}

// send hands an event to the writer goroutine.
func (r *runner) send(ctx context.Context, ev event) error {
	select {
	case r.events <- ev:
		return nil
	case <-ctx.Done():
		if ev.sp != nil {
			ev.sp.Discard()
		}
		return context.Cause(ctx)
	}
}

// literal reads a FETCH literal and turns a short one (the connection
// ended inside it, which the client library reports as a plain EOF) into
// io.ErrUnexpectedEOF, so that Spool discards it instead of storing a
// truncated message.
type literal struct {
	r    io.Reader
	size int64
	n    int64
	err  error // the first error, io.EOF included: the literal has ended
}

func (l *literal) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	k, err := l.r.Read(p)
	l.n += int64(k)
	if err == io.EOF && l.n < l.size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		l.err = err
	}
	return k, err
}

// short reports whether the literal ended before its declared size.
func (l *literal) short() bool { return l.err != nil && l.n < l.size }

// annotate marks a command's error: a server's NO/BAD (*imap.Error) stays
// as it is, anything else means the connection is gone (*connError),
// stalled or not.
func (s *session) annotate(err error) error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return err
	}
	if s.conn.stalled() {
		err = fmt.Errorf("%w: %v", ErrStalled, err)
	}
	return &connError{err: err}
}
