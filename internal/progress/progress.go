// Package progress is the small interface through which importers and
// exporters report how far they are, so that rendering (a progress bar on a
// terminal, nothing in cron) stays in the CLI.
package progress

// Counter receives progress. Implementations must be safe for concurrent use.
type Counter interface {
	// AddTotal grows the expected totals (a source may learn them late).
	AddTotal(msgs, bytes int64)
	// Add records work done.
	Add(msgs, bytes int64)
}

// Nop discards progress.
type Nop struct{}

func (Nop) AddTotal(int64, int64) {}
func (Nop) Add(int64, int64)      {}
