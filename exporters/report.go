package exporters

import (
	"slices"
	"sync"

	"github.com/mailark/mailark/archive"
)

// Count is a number of messages and their bytes (CRLF bytes for IMAP and
// SMTP, file bytes for files).
type Count struct {
	Messages int64 `json:"messages"`
	Bytes    int64 `json:"bytes"`
}

func (c *Count) add(bytes int64) { c.Messages++; c.Bytes += bytes }

// Kind says what became of one selected message.
type Kind int

const (
	// Done: appended, sent or written by this run.
	Done Kind = iota
	// Already: an earlier run's receipt says the target has it.
	Already
	// Found: the target had it without a receipt (reconciliation found it);
	// a receipt was recorded now.
	Found
	// Duplicate: the same message was selected from another source folder
	// for the same target and handled there.
	Duplicate
	// Failed: not exported; Report.Problems says why.
	Failed
)

// FolderReport reconciles one target folder: what the selection held for
// it against what became of each message.
type FolderReport struct {
	Folder    string   `json:"folder"`  // the target: IMAP mailbox, directory, file, recipients
	Sources   []string `json:"sources"` // account/folder the messages came from
	Created   bool     `json:"created,omitempty"`
	Selected  Count    `json:"selected"`
	Done      Count    `json:"done"`
	Already   Count    `json:"already"`
	Found     Count    `json:"found"`
	Duplicate Count    `json:"duplicate"`
	Failed    Count    `json:"failed"`
	// Left are selected messages this run did not get to (interrupted).
	Left   Count         `json:"left"`
	Verify *VerifyReport `json:"verify,omitempty"`
	Note   string        `json:"note,omitempty"`
}

// VerifyReport is what checking the target after the export found.
type VerifyReport struct {
	Checked      int64 `json:"checked"`       // messages with a receipt looked up on the target
	Present      int64 `json:"present"`       // there with the expected size
	Missing      int64 `json:"missing"`       // not there: receipt dropped, the next run sends again
	SizeMismatch int64 `json:"size_mismatch"` // there, but with another size
}

// Report is a whole export: one FolderReport per target folder in the
// order they were first used, and the problems. It is safe for concurrent
// use through its methods.
type Report struct {
	mu       sync.Mutex
	folders  []*FolderReport
	byName   map[string]*FolderReport
	problems []archive.RunProblem
	dropped  int
}

// maxProblems bounds the report for pathological runs; counts stay exact.
const maxProblems = 10000

// Folder returns the report of a target folder, creating it on first use.
func (r *Report) Folder(name string) *FolderReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byName == nil {
		r.byName = map[string]*FolderReport{}
	}
	f := r.byName[name]
	if f == nil {
		f = &FolderReport{Folder: name, Sources: []string{}}
		r.byName[name] = f
		r.folders = append(r.folders, f)
	}
	return f
}

// AddSource records that source (account/folder) feeds folder f and
// contributes msgs selected messages of bytes.
func (r *Report) AddSource(f *FolderReport, source string, msgs, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(f.Sources, source) {
		f.Sources = append(f.Sources, source)
	}
	f.Selected.Messages += msgs
	f.Selected.Bytes += bytes
}

// Add counts one message of f.
func (r *Report) Add(f *FolderReport, k Kind, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch k {
	case Done:
		f.Done.add(bytes)
	case Already:
		f.Already.add(bytes)
	case Found:
		f.Found.add(bytes)
	case Duplicate:
		f.Duplicate.add(bytes)
	case Failed:
		f.Failed.add(bytes)
	}
}

// Update runs fn with the report locked, for fields Add does not cover.
func (r *Report) Update(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn()
}

// Problem records one message that failed (fatal) or a warning.
func (r *Report) Problem(where, msg string, fatal bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) >= maxProblems {
		r.dropped++
		return
	}
	r.problems = append(r.problems, archive.RunProblem{Where: where, Error: msg, Fatal: fatal})
}

// Finish computes each folder's Left; call it once the run is over.
func (r *Report) Finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.folders {
		m := f.Selected.Messages - f.Done.Messages - f.Already.Messages - f.Found.Messages - f.Duplicate.Messages - f.Failed.Messages
		b := f.Selected.Bytes - f.Done.Bytes - f.Already.Bytes - f.Found.Bytes - f.Duplicate.Bytes - f.Failed.Bytes
		f.Left = Count{max(m, 0), max(b, 0)}
	}
}

// Folders returns the folder reports (shared, not copies: read them once
// the run is over).
func (r *Report) Folders() []*FolderReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.folders)
}

// Problems returns the recorded problems and how many more were dropped.
func (r *Report) Problems() ([]archive.RunProblem, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.problems), r.dropped
}

// Total sums the folders.
func (r *Report) Total() FolderReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t FolderReport
	for _, f := range r.folders {
		for _, p := range [][2]*Count{{&t.Selected, &f.Selected}, {&t.Done, &f.Done}, {&t.Already, &f.Already},
			{&t.Found, &f.Found}, {&t.Duplicate, &f.Duplicate}, {&t.Failed, &f.Failed}, {&t.Left, &f.Left}} {
			p[0].Messages += p[1].Messages
			p[0].Bytes += p[1].Bytes
		}
		if f.Verify != nil {
			if t.Verify == nil {
				t.Verify = &VerifyReport{}
			}
			t.Verify.Checked += f.Verify.Checked
			t.Verify.Present += f.Verify.Present
			t.Verify.Missing += f.Verify.Missing
			t.Verify.SizeMismatch += f.Verify.SizeMismatch
		}
	}
	return t
}

// Failures returns the number of failed messages, verification failures
// included: nonzero means exit status 3.
func (r *Report) Failures() int64 {
	t := r.Total()
	n := t.Failed.Messages
	if t.Verify != nil {
		n += t.Verify.Missing + t.Verify.SizeMismatch
	}
	return n
}

// RunCounts maps the report onto the audit log's counters: new = done,
// existing = already + found + duplicate, failed, bytes = bytes done.
func (r *Report) RunCounts() archive.RunCounts {
	t := r.Total()
	return archive.RunCounts{
		New:      t.Done.Messages,
		Existing: t.Already.Messages + t.Found.Messages + t.Duplicate.Messages,
		Failed:   r.Failures(),
		Bytes:    t.Done.Bytes,
	}
}
