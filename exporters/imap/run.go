package imap

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
)

// job is one message to append.
type job struct {
	e *archive.SelectedEntry
	t *target
}

// outcome is what became of a job.
type outcome struct {
	job              *job
	how              string // archive.ReceiptAppended or ReceiptFound; "" when it failed
	uidValidity, uid uint32
	err              error
}

// Run exports the selection to the IMAP server: it names and creates the
// target folders, reconciles what is already there, APPENDs the rest over
// o.Connections pipelined connections, records a receipt for each message
// the server confirmed, and with o.Verify checks the result. Per-message
// failures go into rep; the error is for the run as a whole (the server
// unreachable, the login refused, the catalog failing). On interruption
// the answers to APPENDs already sent are awaited for o.Grace and
// recorded.
func Run(ctx context.Context, store exporters.ReceiptStore, sel *archive.Selection, o Options, rep *exporters.Report) error {
	if err := o.defaults(); err != nil {
		return err
	}
	msgs, _, crlf := sel.Totals()
	o.Progress.AddTotal(msgs, crlf)
	runCtx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	hard, cancelHard := graceContext(runCtx, o.Grace)
	defer cancelHard()

	ctl, err := dialRetry(hard, &o, 3)
	if err != nil {
		return err
	}
	defer func() { ctl.logout() }()
	// The control connection works without pause until the folders are
	// created, then idles while the workers append.
	release := ctl.expect()
	defer release()
	p, err := newPlan(runCtx, ctl, store, sel, &o, rep)
	if err != nil {
		return err
	}
	j := exporters.NewJournal(store, o.ReceiptBatch, o.ReceiptInterval, o.Run)
	if err := p.reconcile(runCtx, ctl, j); err != nil {
		return err
	}
	p.create(ctl)
	release()
	p.failUnusable()

	// Each connection takes whole target folders, largest first: Dovecot
	// (and other servers) lock a mailbox for each APPEND, so connections
	// appending to the same folder wait for each other.
	usable := p.byLoad()
	tasks := make(chan *target, len(usable))
	for _, t := range usable {
		tasks <- t
	}
	close(tasks)
	outcomes := make(chan outcome, o.Connections*o.Window)
	var wg sync.WaitGroup
	var werrMu sync.Mutex
	var werr error
	for i := 0; i < min(o.Connections, len(usable)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{p: p, out: outcomes}
			if err := w.run(runCtx, hard, tasks); err != nil && runCtx.Err() == nil {
				werrMu.Lock()
				werr = errors.Join(werr, err)
				werrMu.Unlock()
				cancelRun(err)
			}
		}()
	}
	go func() { wg.Wait(); close(outcomes) }()
	cerr := p.collect(runCtx, outcomes, j, func(err error) { cancelRun(err) })
	err = errors.Join(werr, cerr)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil && o.Verify && ctx.Err() == nil {
		if ctl.broken() {
			ctl.abort()
			if ctl, err = dialRetry(hard, &o, 3); err != nil {
				return err
			}
		}
		release := ctl.expect()
		err = p.verify(runCtx, ctl)
		release()
	}
	rep.Finish()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

// DryRun does what Run would do up to the first change: it names the
// target folders, reads the receipts and reconciles, and counts in rep
// what Run would append (as Done) and create (Created), without creating,
// appending or recording anything.
func DryRun(ctx context.Context, store exporters.ReceiptStore, sel *archive.Selection, o Options, rep *exporters.Report) error {
	if err := o.defaults(); err != nil {
		return err
	}
	s, err := dialRetry(ctx, &o, 1)
	if err != nil {
		return err
	}
	defer s.logout()
	defer s.expect()()
	p, err := newPlan(ctx, s, store, sel, &o, rep)
	if err != nil {
		return err
	}
	if err := p.reconcile(ctx, s, nil); err != nil {
		return err
	}
	for _, t := range p.targets {
		if !t.exists && t.err == nil {
			rep.Update(func() { t.rep.Created = true })
		}
	}
	p.failUnusable()
	for _, t := range p.byLoad() {
		err := p.feed(ctx, t, func(jb *job) error {
			rep.Add(jb.t.rep, exporters.Done, jb.e.CRLFSize)
			return nil
		})
		if err != nil {
			rep.Finish()
			return err
		}
	}
	err = nil
	rep.Finish()
	return err
}

// graceContext returns a context that ends grace after ctx does (or when
// cancelled): connections live that much longer than the run, so that the
// answers to APPENDs already sent can still arrive and be recorded.
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	hard, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return hard, func() { stop(); cancel() }
}

// byLoad returns the usable targets, most selected bytes first, so that
// the largest folder does not start last.
func (p *plan) byLoad() []*target {
	var ts []*target
	for _, t := range p.targets {
		if t.err == nil {
			ts = append(ts, t)
		}
	}
	slices.SortStableFunc(ts, func(a, b *target) int { return cmp.Compare(b.rep.Selected.Bytes, a.rep.Selected.Bytes) })
	return ts
}

// feed walks the selected entries of t's source folders and passes on
// every message t lacks; the others are counted at once. Only one
// goroutine feeds a given target.
func (p *plan) feed(ctx context.Context, t *target, send func(*job) error) error {
	for _, src := range t.rep.Sources {
		acct, folder, _ := strings.Cut(src, "/")
		err := p.sel.EachIn(ctx, acct, folder, func(e *archive.SelectedEntry) error {
			size := e.CRLFSize
			skip := func(k exporters.Kind) error {
				p.rep.Add(t.rep, k, size)
				p.o.Progress.Add(1, size)
				return nil
			}
			if _, ok := t.have[e.ID]; ok {
				return skip(exporters.Already)
			}
			if _, ok := t.found[e.ID]; ok {
				return skip(exporters.Found)
			}
			if t.sent[e.ID] {
				return skip(exporters.Duplicate)
			}
			if t.limit > 0 && size > t.limit {
				p.rep.Problem(where(e), fmt.Sprintf("too large for %s: %d bytes, the server's APPENDLIMIT is %d; not sent", t.mailbox, size, t.limit), true)
				return skip(exporters.Failed)
			}
			t.sent[e.ID] = true
			return send(&job{e: e, t: t})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// failUnusable counts every message of a target that cannot be used
// (its name, or creating it, failed: reported once for the folder) as
// failed.
func (p *plan) failUnusable() {
	for _, t := range p.targets {
		if t.err != nil {
			p.rep.Update(func() { t.rep.Failed = t.rep.Selected })
			p.o.Progress.Add(t.rep.Selected.Messages, t.rep.Selected.Bytes)
		}
	}
}

// where names a message in problems: its source copy and ID.
func where(e *archive.SelectedEntry) string {
	return fmt.Sprintf("%s/%s uid %d (%s)", e.Account, e.Folder, e.UID, e.ID.Short())
}

// collect is the one goroutine that records outcomes: the report, the
// progress and the receipts, committed in batches. A receipt is recorded
// only for a message the server confirmed. fail is called when the
// catalog cannot take receipts: the run must stop.
func (p *plan) collect(ctx context.Context, outcomes <-chan outcome, j *exporters.Journal, fail func(error)) error {
	tick := time.NewTicker(p.o.ReceiptInterval)
	defer tick.Stop()
	// Confirmed messages are recorded even while the run is being
	// interrupted.
	wctx := context.WithoutCancel(ctx)
	var jerr error
	record := func(r archive.Receipt) {
		if jerr != nil {
			return
		}
		if jerr = j.Add(wctx, r); jerr != nil {
			fail(jerr)
		}
	}
	for {
		select {
		case oc, ok := <-outcomes:
			if !ok {
				if jerr == nil {
					jerr = j.Flush(wctx)
				}
				return jerr
			}
			e, t := oc.job.e, oc.job.t
			size := e.CRLFSize
			p.o.Progress.Add(1, size)
			r := archive.Receipt{Target: t.scope.Target, User: t.scope.User, Folder: t.scope.Folder, ID: e.ID,
				UIDValidity: oc.uidValidity, UID: oc.uid, Size: size, How: oc.how}
			switch oc.how {
			case archive.ReceiptAppended:
				p.rep.Add(t.rep, exporters.Done, size)
				record(r)
			case archive.ReceiptFound:
				p.rep.Add(t.rep, exporters.Found, size)
				record(r)
			default:
				p.rep.Add(t.rep, exporters.Failed, size)
				p.rep.Problem(where(e), oc.err.Error(), true)
			}
		case <-tick.C:
			if j.Due() && jerr == nil {
				if jerr = j.Flush(wctx); jerr != nil {
					fail(jerr)
				}
			}
		}
	}
}
