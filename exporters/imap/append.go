package imap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
)

// maxReconnects bounds how often a worker reopens a dropped connection
// without an APPEND succeeding in between.
const maxReconnects = 5

// worker appends jobs over one connection, keeping up to Window APPENDs
// in flight: a sender writes each APPEND (command and literal) as soon as
// the previous one is written, and a receiver collects the tagged answers
// in order. imapclient allows this: Append holds the connection's encoder
// only while the command is being written, and Wait may run in another
// goroutine. (Literals above 4 KiB still wait for the server's "+", so on
// one connection large messages are paced by round trips; several
// connections overlap those.)
type worker struct {
	p        *plan
	out      chan<- outcome
	sess     *session
	selected string // the mailbox SELECTed on sess, "" for none
}

// pending is an APPEND written and not yet answered.
type pending struct {
	cmd     *imapclient.AppendCommand
	job     *job
	release func() // disarms the watchdog armed for its answer
}

// run takes target folders from tasks and appends what they lack, until
// tasks is empty and every answer is in, ctx ends, or the connection
// cannot be reopened. hard bounds the connection's life.
func (w *worker) run(ctx, hard context.Context, tasks <-chan *target) error {
	fctx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	jobs := make(chan *job)
	var ferr error
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		defer close(jobs)
		for t := range tasks {
			ferr = w.p.feed(fctx, t, func(j *job) error {
				select {
				case jobs <- j:
					return nil
				case <-fctx.Done():
					return fctx.Err()
				}
			})
			if ferr != nil {
				return
			}
		}
	}()
	err := w.loop(ctx, hard, jobs)
	stopFeed()
	<-fed
	if err == nil && ferr != nil && ctx.Err() == nil {
		err = ferr
	}
	return err
}

// loop appends jobs until the channel is closed, connecting when the
// first job arrives and reconnecting when the connection drops.
func (w *worker) loop(ctx, hard context.Context, jobs <-chan *job) error {
	var resend, unsure []*job
	failures := 0
	defer func() { w.sess.logout() }()
	for {
		if w.sess == nil {
			if len(resend) == 0 && len(unsure) == 0 {
				select { // no connection until there is work
				case j, ok := <-jobs:
					if !ok {
						return nil
					}
					resend = append(resend, j)
				case <-ctx.Done():
					return nil
				}
			}
			s, err := dialRetry(hard, w.p.o, 4)
			if err != nil {
				return err
			}
			w.sess, w.selected = s, ""
			if len(unsure) > 0 {
				release := w.sess.expect()
				again, err := w.resolve(unsure)
				release()
				if err != nil {
					w.sess.abort()
					w.sess = nil
					if failures++; failures > maxReconnects {
						return err
					}
					continue
				}
				resend, unsure = append(again, resend...), nil
			}
		}
		uncertain, progressed, err := w.pump(ctx, jobs, resend)
		resend = nil
		if err == nil || ctx.Err() != nil {
			return nil // uncertain jobs of an interrupted run stay unrecorded: the next run reconciles them
		}
		if progressed {
			failures = 0
		}
		if failures++; failures > maxReconnects {
			return fmt.Errorf("connection to %s lost %d times: %w", w.p.o.Addr, failures, err)
		}
		w.p.o.Logger.Warn("connection lost; reconnecting", "addr", w.p.o.Addr, "in_flight", len(uncertain), "err", err)
		w.sess.abort()
		w.sess = nil
		unsure = uncertain
		select {
		case <-time.After(w.p.o.ReconnectDelay):
		case <-ctx.Done():
			return nil
		}
	}
}

// resolve reconciles jobs whose APPEND may or may not have reached the
// server before the connection dropped: those found are reported as
// found, the others are returned to be sent again.
func (w *worker) resolve(jobs []*job) ([]*job, error) {
	byTarget := map[*target][]*job{}
	for _, j := range jobs {
		byTarget[j.t] = append(byTarget[j.t], j)
	}
	var again []*job
	for t, js := range byTarget {
		ws := make([]wanted, len(js))
		for i, j := range js {
			ws[i] = wanted{id: j.e.ID, messageID: j.e.MessageID, size: j.e.CRLFSize}
		}
		got, err := locate(w.sess, t.mailbox, ws, false)
		if err != nil {
			return jobs, err
		}
		for _, j := range js {
			if f, ok := got[j.e.ID]; ok {
				w.out <- outcome{job: j, how: archive.ReceiptFound, uidValidity: f.uidValidity, uid: f.uid}
				continue
			}
			again = append(again, j)
		}
	}
	return again, nil
}

// pump sends first, then jobs from the queue, until the queue is closed
// and answered (nil error) or the connection breaks: then it returns the
// jobs whose outcome is unknown.
func (w *worker) pump(ctx context.Context, jobs <-chan *job, first []*job) (uncertain []*job, progressed bool, err error) {
	inflight := make(chan *pending, w.p.o.Window)
	type result struct {
		uncertain  []*job
		progressed bool
		err        error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for pd := range inflight {
			if r.err != nil {
				pd.release()
				r.uncertain = append(r.uncertain, pd.job)
				continue
			}
			data, err := pd.cmd.Wait()
			pd.release()
			var ie *imap.Error
			switch {
			case err == nil:
				r.progressed = true
				w.out <- outcome{job: pd.job, how: archive.ReceiptAppended, uidValidity: data.UIDValidity, uid: uint32(data.UID)}
			case errors.As(err, &ie):
				w.out <- outcome{job: pd.job, err: fmt.Errorf("server refused APPEND to %s: %v", pd.job.t.mailbox, ie)}
			default:
				r.err = err
				r.uncertain = append(r.uncertain, pd.job)
			}
		}
		done <- r
	}()
	next := func() (*job, bool) {
		if len(first) > 0 {
			j := first[0]
			first = first[1:]
			return j, true
		}
		select {
		case j, ok := <-jobs:
			return j, ok
		case <-ctx.Done():
			return nil, false
		case <-w.sess.c.Closed():
			return nil, false
		}
	}
	for {
		if ctx.Err() != nil || w.sess.broken() {
			break
		}
		j, ok := next()
		if !ok {
			break
		}
		cmd, release, err := w.send(j)
		if err != nil {
			w.out <- outcome{job: j, err: err}
			continue
		}
		inflight <- &pending{cmd: cmd, job: j, release: release}
	}
	// Jobs taken but not sent (the connection broke before them) go back.
	uncertain = append(uncertain, first...)
	close(inflight)
	r := <-done
	uncertain = append(r.uncertain, uncertain...)
	if r.err == nil && w.sess.broken() && ctx.Err() == nil {
		r.err = errors.New("connection closed")
	}
	if r.err == nil && len(uncertain) > 0 && ctx.Err() == nil {
		r.err = errors.New("connection closed")
	}
	return uncertain, r.progressed, r.err
}

// send reads and checks one message and writes its APPEND, with the
// watchdog armed for its answer until release. An error means the message
// was not sent (its file is unreadable or damaged).
func (w *worker) send(j *job) (cmd *imapclient.AppendCommand, release func(), err error) {
	body, err := exporters.Load(j.e)
	if err != nil {
		return nil, nil, err
	}
	defer body.Release()
	if err := appendable(body.Features); err != nil {
		return nil, nil, err
	}
	r, err := body.Open()
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	flags := make([]imap.Flag, 0, len(j.e.Flags))
	for _, f := range j.e.Flags {
		if validFlag(f) {
			flags = append(flags, imap.Flag(f))
		} else {
			w.p.rep.Problem(where(j.e), fmt.Sprintf("flag %q cannot be sent over IMAP; appended without it", f), false)
		}
	}
	w.selectTarget(j.t)
	release = w.sess.expect()
	cmd = w.sess.c.Append(j.t.mailbox, body.Size, &imap.AppendOptions{Flags: flags, Time: j.e.InternalDate})
	_, werr := io.Copy(cmd, r)
	cerr := cmd.Close()
	if werr != nil || cerr != nil {
		// Either the server refused before the literal (Wait will say so)
		// or the connection broke (Wait will say that): the receiver sorts
		// it out.
		w.p.o.Logger.Debug("APPEND write failed", "mailbox", j.t.mailbox, "err", errors.Join(werr, cerr))
	}
	return cmd, release, nil
}

// selectTarget SELECTs the mailbox a connection starts appending to.
// Dovecot then saves into the mailbox it has open instead of opening and
// closing it for every APPEND, which roughly halves its work per message.
// The APPENDs already in flight are not disturbed: the server answers
// commands in order. If SELECT fails the APPENDs go ahead unselected.
func (w *worker) selectTarget(t *target) {
	if w.selected == t.mailbox {
		return
	}
	w.selected = t.mailbox
	release := w.sess.expect()
	_, err := w.sess.c.Select(t.mailbox, nil).Wait()
	release()
	if err != nil {
		w.p.o.Logger.Debug("SELECT before APPEND failed", "mailbox", t.mailbox, "err", err)
		var ie *imap.Error
		if errors.As(err, &ie) {
			// A warning only: APPEND names its mailbox, so the messages
			// still go (or fail one by one, each reported).
			w.p.rep.Problem("imap:"+t.mailbox, fmt.Sprintf("SELECT refused (%v): appending without it", ie), false)
		}
	}
}

// ErrNotAppendable reports a message that IMAP cannot carry unchanged;
// it is reported, not sent.
var ErrNotAppendable = errors.New("cannot be appended unchanged")

// appendable refuses what would not arrive as it is: a NUL byte, which an
// IMAP literal cannot hold (RFC 3501 4.3; imapclient has no literal8 for
// APPEND), and a bare CR, which servers that store lines drop or change
// (Dovecot drops a final one). Such messages can be exported to mbox or
// .eml files unchanged.
func appendable(f exporters.Features) error {
	switch {
	case f.NUL:
		return fmt.Errorf("%w: it contains a NUL byte, which an IMAP literal cannot carry", ErrNotAppendable)
	case f.BareCR:
		return fmt.Errorf("%w: it contains a CR that does not end a line, which IMAP servers do not store as it is", ErrNotAppendable)
	}
	return nil
}

// validFlag reports whether imapclient can send f: a system flag or a
// keyword made of atom characters (RFC 3501 flag-keyword). \Recent is
// never sent.
func validFlag(f string) bool {
	if f == "" || f == `\Recent` {
		return false
	}
	for i := 0; i < len(f); i++ {
		ch := f[i]
		switch {
		case ch == '\\' && i == 0:
		case ch <= ' ' || ch >= 0x7f:
			return false
		case ch == '(' || ch == ')' || ch == '{' || ch == '%' || ch == '*' || ch == '"' || ch == '\\' || ch == ']':
			return false
		}
	}
	return f != `\`
}
