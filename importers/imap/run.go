package imap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/progress"
)

// Run imports the selected folders into w (see the package
// documentation). Per-message and per-folder failures go into rep and
// the folder reports; the error is for the run as a whole: the archive
// failed, the server could not be reached or refused the login, or ctx
// ended. What was delivered before an error is staged in w, with its
// checkpoints: the caller commits w, as for every importer.
func Run(ctx context.Context, w *archive.Writer, opts Options, rep *importers.Report, prog progress.Counter) (*Summary, error) {
	if w == nil {
		return nil, errors.New("imap: no archive writer")
	}
	return run(ctx, w, w, opts, rep, prog)
}

// DryRun lists the selected folders and counts what a run would fetch,
// reading the saved state from st (nil: none). It changes nothing.
func DryRun(ctx context.Context, st StateReader, opts Options, rep *importers.Report) (*Summary, error) {
	opts.DryRun = true
	return run(ctx, nil, st, opts, rep, nil)
}

// runner is one Run: the workers, the writer goroutine and what they share.
type runner struct {
	o    *Options
	w    *archive.Writer // nil in a dry run
	log  *slog.Logger
	prog progress.Counter
	q    *queue

	events chan event // workers -> writer

	mu  sync.Mutex // rep, from workers (folder problems) and the writer
	rep *importers.Report

	failOnce sync.Once
	failErr  error
	cancel   context.CancelCauseFunc

	reconnects atomic.Int64
	alive      atomic.Int64        // workers still running
	cursors    map[*folder]*cursor // writer goroutine only
}

func run(ctx context.Context, w *archive.Writer, st StateReader, opts Options, rep *importers.Report, prog progress.Counter) (*Summary, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if !validAccount(opts.Account) {
		return nil, fmt.Errorf("%w: account name %q", archive.ErrBadName, opts.Account)
	}
	if rep == nil {
		rep = &importers.Report{}
	}
	if prog == nil {
		prog = progress.Nop{}
	}
	o := &opts
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &runner{o: o, w: w, log: o.Logger, prog: prog, rep: rep, cancel: cancel,
		events: make(chan event, 64), cursors: map[*folder]*cursor{}}
	r.q = newQueue(rctx)

	first, folders, probs, err := r.start(rctx)
	if err != nil {
		return nil, err
	}
	for _, p := range probs {
		r.problem("imap:"+p.mailbox, p.err, true)
	}
	for _, f := range folders {
		if err := loadState(rctx, st, o, f); err != nil {
			first.abort()
			return nil, err
		}
		r.q.push(&job{kind: jobExamine, f: f})
	}
	r.log.Info("folders to examine", "count", len(folders), "connections", o.Connections)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		r.writeLoop(context.WithoutCancel(ctx))
	}()
	var wg sync.WaitGroup
	r.alive.Store(int64(o.Connections))
	for i := range o.Connections {
		var s *session
		if i == 0 {
			s = first
		}
		wg.Go(func() { r.worker(rctx, s) })
	}
	wg.Wait()
	close(r.events)
	<-writerDone

	sum := &Summary{Reconnects: int(r.reconnects.Load())}
	for _, f := range folders {
		fr := f.rep
		if !fr.started.IsZero() {
			fr.Seconds = fr.finished.Sub(fr.started).Seconds()
		}
		if fr.Gone > 0 {
			fr.addNote(fmt.Sprintf("%d messages expunged on the server before they were fetched: not archived", fr.Gone))
		}
		sum.Folders = append(sum.Folders, fr)
	}
	if r.failErr != nil {
		return sum, r.failErr
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	return sum, nil
}

// fail stops the run with err (the first one wins).
func (r *runner) fail(err error) {
	r.failOnce.Do(func() {
		r.failErr = err
		r.cancel(err)
	})
}

// problem records a failure or warning that is not one message's.
func (r *runner) problem(where string, err error, fatal bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fatal {
		r.rep.Failed++
	}
	r.addProblem(where, err, fatal)
	r.log.Warn("problem", "where", where, "error", err)
}

// addProblem appends to the report, bounded; r.mu is held.
func (r *runner) addProblem(where string, err error, fatal bool) {
	if len(r.rep.Problems) < 10000 {
		r.rep.Problems = append(r.rep.Problems, archive.RunProblem{Where: where, Error: err.Error(), Fatal: fatal})
	}
}

// start connects and lists the folders, retrying a lost connection.
func (r *runner) start(ctx context.Context) (*session, []*folder, []folderProblem, error) {
	for attempt := 1; ; attempt++ {
		s, err := r.connect(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		folders, probs, err := listFolders(s, r.o)
		if err == nil {
			return s, folders, probs, nil
		}
		s.abort()
		var ce *connError
		if !errors.As(err, &ce) || attempt >= r.o.MaxRetries {
			return nil, nil, nil, err
		}
		if !sleep(ctx, r.o.backoff(attempt)) {
			return nil, nil, nil, context.Cause(ctx)
		}
	}
}

// connect opens a session, retrying with back-off; a refused login or
// certificate is not retried.
func (r *runner) connect(ctx context.Context) (*session, error) {
	for attempt := 1; ; attempt++ {
		s, err := dial(ctx, r.o)
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if permanent(err) || attempt >= r.o.MaxRetries {
			return nil, err
		}
		d := r.o.backoff(attempt)
		r.log.Warn("connection failed; retrying", "error", err, "in", d)
		if !sleep(ctx, d) {
			return nil, context.Cause(ctx)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// worker runs jobs on its own connection until the queue is finished.
func (r *runner) worker(ctx context.Context, s *session) {
	connected := s != nil
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	for {
		var pref *folder
		if s != nil {
			pref = s.selected
		}
		j, ok := r.q.pop(pref)
		if !ok {
			return
		}
		if s == nil {
			var err error
			if s, err = r.connect(ctx); err != nil {
				// The job was not started: leave it to the other workers. A
				// server may allow fewer connections than asked for; only
				// when no worker is left does the run fail.
				r.q.push(j)
				r.q.done()
				if ctx.Err() == nil {
					if r.alive.Add(-1) == 0 {
						r.fail(err)
					} else {
						r.log.Warn("cannot open another connection; going on with fewer", "error", err)
					}
				}
				return
			}
			if connected {
				r.reconnects.Add(1)
			}
			connected = true
		}
		var err error
		switch j.kind {
		case jobExamine:
			err = r.examine(ctx, s, j)
		case jobFetch:
			err = r.fetch(ctx, s, j)
		}
		r.q.done()
		var ce *connError
		switch {
		case err == nil:
		case ctx.Err() != nil:
			s.abort()
			s = nil
			return
		case errors.As(err, &ce):
			s.abort()
			s = nil
			d := r.o.backoff(max(1, ce.attempts))
			r.log.Warn("connection lost; reconnecting", "folder", j.f.name, "error", ce.err, "in", d)
			if !sleep(ctx, d) {
				return
			}
		default:
			s.abort()
			s = nil
			r.fail(err)
			return
		}
	}
}

// connError is a lost or stalled connection: the job's remainder is back
// in the queue, and the worker reconnects.
type connError struct {
	err      error
	attempts int
}

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// validAccount mirrors the archive's rules for account names.
func validAccount(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '.' || name[0] == '-' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '@' || r == '+' || r == '-') {
			return false
		}
	}
	return true
}
