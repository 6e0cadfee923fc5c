package imap

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mailark/mailark/archive"
)

type eventKind int

const (
	evPlan    eventKind = iota // a folder's work for this run: uids, floor, validity, last, failed
	evMessage                  // sp with meta, for uid
	evFailed                   // uid could not be archived: err
	evGone                     // uids were not on the server any more
	evProblem                  // the folder has a problem: err (fatal: counted as failed)
)

// event is what workers send the writer goroutine.
type event struct {
	kind     eventKind
	f        *folder
	uid      uint32
	uids     []uint32
	floor    uint32
	last     uint32
	validity uint32
	failed   []uint32
	sp       *archive.Spooled
	meta     archive.Meta
	err      error
	fatal    bool
}

// writeLoop is the writer goroutine: the only caller of DeliverSpooled
// and SetState. After an archive error it keeps draining the channel
// (discarding spooled files) until the workers have stopped.
func (r *runner) writeLoop(ctx context.Context) {
	var failed bool
	for ev := range r.events {
		if failed {
			if ev.sp != nil {
				ev.sp.Discard()
			}
			continue
		}
		if err := r.handle(ctx, ev); err != nil {
			failed = true
			r.fail(err)
		}
	}
}

func (r *runner) handle(ctx context.Context, ev event) error {
	f := ev.f
	fr := f.rep
	now := time.Now()
	if ev.kind == evProblem {
		where := "imap:" + f.name
		r.problem(where, ev.err, ev.fatal)
		fr.addNote(ev.err.Error())
		if ev.fatal {
			fr.Failed++
		}
		fr.touch(now)
		return nil
	}
	if ev.kind == evPlan {
		c := newCursor(f, ev.validity, ev.uids, ev.floor, ev.last, ev.failed)
		r.cursors[f] = c
		return c.stage(ctx, r.w)
	}
	c := r.cursors[f]
	if c == nil {
		if ev.sp != nil {
			ev.sp.Discard()
		}
		return fmt.Errorf("imap: internal error: %s event for %s before its plan", kindName(ev.kind), f.name)
	}
	wasComplete := c.complete()
	switch ev.kind {
	case evMessage:
		size := ev.sp.Size()
		res, err := r.w.DeliverSpooled(ctx, ev.sp, ev.meta)
		if err != nil {
			return fmt.Errorf("archiving %s uid %d: %w", f.name, ev.uid, err)
		}
		r.mu.Lock()
		switch res.Status {
		case archive.StatusNew:
			r.rep.New++
			r.rep.Bytes += res.Size
			fr.New++
		case archive.StatusLinked:
			r.rep.Linked++
			fr.Linked++
		case archive.StatusExists:
			r.rep.Existing++
			fr.Existing++
		}
		if res.NearDup {
			r.rep.NearDups++
			fr.NearDups++
		}
		r.mu.Unlock()
		fr.Bytes += size
		r.prog.Add(1, size)
		c.resolve(ev.uid, false)
	case evFailed:
		where := "imap:" + f.name + "/uid " + strconv.FormatUint(uint64(ev.uid), 10)
		r.mu.Lock()
		r.rep.Failed++
		r.addProblem(where, ev.err, true)
		r.mu.Unlock()
		r.log.Warn("message not archived", "where", where, "error", ev.err)
		fr.Failed++
		if len(fr.Failures) < maxFailuresListed {
			fr.Failures = append(fr.Failures, Failure{UID: ev.uid, Error: ev.err.Error()})
		}
		r.prog.Add(1, 0)
		c.resolve(ev.uid, true)
	case evGone:
		for _, u := range ev.uids {
			c.resolve(u, false)
		}
		fr.Gone += int64(len(ev.uids))
		// A warning, not a failure: the server has nothing left to fetch,
		// but the report must say which messages the archive never got.
		r.problem("imap:"+f.name, fmt.Errorf("uid %s: expunged on the server before it could be fetched (%d message(s) not archived)",
			formatUIDs(ev.uids), len(ev.uids)), false)
	}
	fr.touch(now)
	if !wasComplete && c.complete() {
		r.log.Info("folder done", "folder", f.name, "new", fr.New, "linked", fr.Linked, "existing", fr.Existing, "failed", fr.Failed)
	}
	return c.stage(ctx, r.w)
}

func kindName(k eventKind) string {
	return [...]string{"plan", "message", "failed", "gone", "problem"}[k]
}
