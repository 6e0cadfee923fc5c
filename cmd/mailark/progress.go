package main

import (
	"fmt"
	"sync"

	"github.com/mailark/mailark/internal/progress"
	"github.com/schollz/progressbar/v3"
)

// newProgress returns a progress bar on stderr when stderr is a terminal
// and output is for people; otherwise nothing is drawn.
func newProgress(g *globalOptions, what string) progressCounter {
	if g.quiet || g.json || !isTerminal(g.stderr) {
		return progressCounter{Counter: progress.Nop{}}
	}
	b := &bar{what: what}
	b.bar = progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(g.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionUseANSICodes(true),
	)
	return progressCounter{Counter: b, finish: b.finish}
}

type progressCounter struct {
	progress.Counter
	finish func()
}

func (p progressCounter) Finish() {
	if p.finish != nil {
		p.finish()
	}
}

// bar adapts progressbar to progress.Counter: bytes drive the bar, the
// message count goes into the description.
type bar struct {
	mu               sync.Mutex
	bar              *progressbar.ProgressBar
	what             string
	msgs, totalMsgs  int64
	bytes, totalByte int64
}

func (b *bar) AddTotal(msgs, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.totalMsgs += msgs
	b.totalByte += bytes
	if b.totalByte > 0 {
		b.bar.ChangeMax64(max(b.totalByte, b.bytes+1))
	}
}

func (b *bar) Add(msgs, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs += msgs
	b.bytes += bytes
	if b.totalByte > 0 && b.bytes >= b.totalByte {
		// sizes announced by a source can be low; never overshoot the bar
		b.bar.ChangeMax64(b.bytes + 1)
	}
	if b.totalMsgs > 0 {
		b.bar.Describe(fmt.Sprintf("%s %d/%d msgs", b.what, b.msgs, b.totalMsgs))
	} else {
		b.bar.Describe(fmt.Sprintf("%s %d msgs", b.what, b.msgs))
	}
	b.bar.Set64(b.bytes)
}

func (b *bar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bar.Finish()
	b.bar.Clear()
}
