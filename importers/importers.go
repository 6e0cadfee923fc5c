// Package importers holds what every importer shares: the Source pull
// iterator each importer implements, and Run, which moves messages from a
// Source into the archive, one report for the whole run.
package importers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/progress"
)

// Message is one message read from a source. Body is valid until the next
// call to Next.
type Message struct {
	Body         io.Reader
	Folder       string    // IMAP name, '/' separator; "" for INBOX
	AlsoIn       []string  // further folders for the same bytes (Gmail labels)
	Flags        []string  // IMAP flags and keywords
	InternalDate time.Time // zero: from the Date header
	DateFallback time.Time // used when neither InternalDate nor a Date header exists
	Position     string    // where in the source, for reports: "mbox:/a.mbox@1234"
	// Source and Ref, when set, are recorded with the delivery (see
	// archive.Meta) so that the next run can recognise the message without
	// reading it.
	Source, Ref string
	// Known marks a message the source recognised as archived by an earlier
	// run (its Ref is recorded): it is counted as already archived and not
	// read; Body is nil.
	Known bool
	// Warnings are problems that did not stop the message from being
	// archived (a truncated last message is stored as it is, for example).
	// A source may append to it while Body is read.
	Warnings []string
}

// Source is a pull iterator over a source's messages.
type Source interface {
	// Next returns the next message, io.EOF at the end, a *MessageError
	// when one message could not be read (call Next again), or another
	// error when the source as a whole failed.
	Next(ctx context.Context) (*Message, error)
	Close() error
}

// Checkpointer is implemented by sources that can resume where an
// interrupted run stopped. After each message is handed to the archive, Run
// stages the checkpoint in the same batch, so it becomes durable together
// with the message.
type Checkpointer interface {
	Checkpoint() (source, key, value string)
}

// MessageError is one message's failure; the run goes on.
type MessageError struct {
	Position string
	Err      error
}

func (e *MessageError) Error() string { return e.Position + ": " + e.Err.Error() }
func (e *MessageError) Unwrap() error { return e.Err }

// Options configure Run.
type Options struct {
	Account  string
	Folder   string // when set, overrides the folder the source gives
	Progress progress.Counter
	Logger   *slog.Logger
}

// Report is what a run did. It accumulates across several Run calls
// (one per input file, for example).
type Report struct {
	archive.RunCounts
	Problems []archive.RunProblem
}

// HasFailures reports whether any message could not be archived.
func (r *Report) HasFailures() bool { return r.Failed > 0 }

func (r *Report) problem(where string, err error, fatal bool) {
	// Keep the report bounded for pathological sources; the counters stay exact.
	if len(r.Problems) < 10000 {
		r.Problems = append(r.Problems, archive.RunProblem{Where: where, Error: err.Error(), Fatal: fatal})
	}
}

// Run delivers every message of src into w. It returns an error only when
// the archive itself fails or ctx is cancelled; per-message failures go
// into rep. The caller commits w.
func Run(ctx context.Context, w *archive.Writer, src Source, opts Options, rep *Report) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prog := opts.Progress
	if prog == nil {
		prog = progress.Nop{}
	}
	cp, _ := src.(Checkpointer)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := src.Next(ctx)
		if err == io.EOF {
			return nil
		}
		var me *MessageError
		if errors.As(err, &me) {
			rep.Failed++
			rep.problem(me.Position, me.Err, true)
			log.Warn("message not archived", "where", me.Position, "error", me.Err)
			prog.Add(1, 0)
			continue
		}
		if err != nil {
			return err
		}
		if m.Known {
			rep.Existing++
			prog.Add(1, 0)
			continue
		}
		folder := m.Folder
		if opts.Folder != "" {
			folder = opts.Folder
		}
		res, err := w.Deliver(ctx, m.Body, archive.Meta{
			Account:      opts.Account,
			Folder:       folder,
			Flags:        m.Flags,
			InternalDate: m.InternalDate,
			DateFallback: m.DateFallback,
			Source:       m.Source,
			Ref:          m.Ref,
		})
		var se *archive.SourceError
		if errors.As(err, &se) || errors.Is(err, archive.ErrBadName) {
			rep.Failed++
			rep.problem(m.Position, err, true)
			log.Warn("message not archived", "where", m.Position, "error", err)
			prog.Add(1, 0)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.Position, err)
		}
		if opts.Folder == "" {
			for _, f := range m.AlsoIn {
				if _, err := w.AddToFolder(ctx, res.ID, archive.Meta{Account: opts.Account, Folder: f, Flags: m.Flags, InternalDate: res.Date}); err != nil {
					if errors.Is(err, archive.ErrBadName) {
						rep.problem(m.Position, err, false)
						continue
					}
					return fmt.Errorf("%s: %w", m.Position, err)
				}
			}
		}
		for _, wmsg := range m.Warnings {
			rep.problem(m.Position, errors.New(wmsg), false)
		}
		switch res.Status {
		case archive.StatusNew:
			rep.New++
			rep.Bytes += res.Size
		case archive.StatusLinked:
			rep.Linked++
		case archive.StatusExists:
			rep.Existing++
		}
		if res.NearDup {
			rep.NearDups++
		}
		prog.Add(1, res.Size)
		if cp != nil {
			s, k, v := cp.Checkpoint()
			if err := w.SetState(ctx, s, k, v); err != nil {
				return err
			}
		}
	}
}
