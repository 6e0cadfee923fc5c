package exporters

import (
	"context"
	"time"

	"github.com/mailark/mailark/archive"
)

// ReceiptStore is where receipts go: *archive.Archive opened for writing.
type ReceiptStore interface {
	Receipts(ctx context.Context, sc archive.ReceiptScope) (map[archive.ID]archive.Receipt, error)
	AddReceipts(ctx context.Context, rs []archive.Receipt) error
	DropReceipts(ctx context.Context, sc archive.ReceiptScope, ids []archive.ID) error
}

// Journal batches receipts: each is recorded only after the target
// confirmed the message, and a batch is committed once it holds Batch
// receipts or its oldest waited Every. A process killed between a
// confirmation and the commit of its batch loses at most those receipts;
// the IMAP exporter's reconciliation finds such messages on the next run.
// A Journal is used from one goroutine.
type Journal struct {
	store   ReceiptStore
	batch   int
	every   time.Duration
	run     int64
	pending []archive.Receipt
	first   time.Time // when the oldest pending receipt was added
	n       int64     // receipts committed
}

// NewJournal returns a journal committing to store every batch receipts or
// every interval, whichever comes first; batch 1 commits each receipt at
// once. run is the audit-log run id stamped on each receipt.
func NewJournal(store ReceiptStore, batch int, every time.Duration, run int64) *Journal {
	return &Journal{store: store, batch: max(batch, 1), every: every, run: run}
}

// Add queues r and commits the batch when it is due.
func (j *Journal) Add(ctx context.Context, r archive.Receipt) error {
	if r.Run == 0 {
		r.Run = j.run
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if len(j.pending) == 0 {
		j.first = time.Now()
	}
	j.pending = append(j.pending, r)
	if len(j.pending) >= j.batch || time.Since(j.first) >= j.every {
		return j.Flush(ctx)
	}
	return nil
}

// Due reports whether pending receipts have waited longer than the
// interval (for a caller that is otherwise idle).
func (j *Journal) Due() bool { return len(j.pending) > 0 && time.Since(j.first) >= j.every }

// Flush commits the pending receipts. Pass a context that is not
// cancelled when the run is being interrupted: confirmed messages must
// still be recorded.
func (j *Journal) Flush(ctx context.Context) error {
	if len(j.pending) == 0 {
		return nil
	}
	if err := j.store.AddReceipts(ctx, j.pending); err != nil {
		return err
	}
	j.n += int64(len(j.pending))
	j.pending = j.pending[:0]
	return nil
}

// Committed returns the number of receipts committed so far.
func (j *Journal) Committed() int64 { return j.n }
