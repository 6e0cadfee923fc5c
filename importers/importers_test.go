package importers_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
)

const account = "me"

// step is what fakeSource.Next returns once: a message, or err.
type step struct {
	raw      string
	folder   string
	alsoIn   []string
	flags    []string
	warnings []string
	err      error
}

// fakeSource replays steps, then io.EOF. before, if set, runs at the start
// of every Next with the number of calls so far.
type fakeSource struct {
	steps  []step
	calls  int // Next calls
	before func(ctx context.Context, call int) error
	closed bool
}

func (f *fakeSource) Next(ctx context.Context) (*importers.Message, error) {
	f.calls++
	if f.before != nil {
		if err := f.before(ctx, f.calls); err != nil {
			return nil, err
		}
	}
	if f.calls > len(f.steps) {
		return nil, io.EOF
	}
	s := f.steps[f.calls-1]
	if s.err != nil {
		return nil, s.err
	}
	return &importers.Message{
		Body:     strings.NewReader(s.raw),
		Folder:   s.folder,
		AlsoIn:   s.alsoIn,
		Flags:    s.flags,
		Position: fmt.Sprintf("fake:%d", f.calls-1),
		Warnings: s.warnings,
	}, nil
}

func (f *fakeSource) Close() error { f.closed = true; return nil }

// checkpointSource is a fakeSource that can resume: its checkpoint is the
// number of Next calls so far.
type checkpointSource struct{ *fakeSource }

func (c checkpointSource) Checkpoint() (string, string, string) {
	return "fake:src", "pos", strconv.Itoa(c.calls)
}

var _ importers.Checkpointer = checkpointSource{}

func msg(n int) string {
	return fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\nMessage-ID: <%d@example.org>\r\n\r\nbody %d\r\n", n, n, n)
}

func msgs(ns ...int) []step {
	var out []step
	for _, n := range ns {
		out = append(out, step{raw: msg(n)})
	}
	return out
}

type entry struct {
	Folder  string
	UID     uint32
	Subject string
	Flags   string
}

// committed reads the committed entries of account (the archive's read
// connection does not see a batch in progress).
func committed(t *testing.T, a *archive.Archive) []entry {
	t.Helper()
	rows, err := a.DB().Query(`SELECT f.name, e.uid, m.subject, e.flags FROM entries e
		JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message
		WHERE f.account = ? ORDER BY f.name, e.uid`, account)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.Folder, &e.UID, &e.Subject, &e.Flags); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func committedState(t *testing.T, a *archive.Archive) string {
	t.Helper()
	var v string
	err := a.DB().QueryRow(`SELECT value FROM sync_state WHERE source = 'fake:src' AND key = 'pos'`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return v
}

func inbox(subjects ...string) []entry {
	var out []entry
	for i, s := range subjects {
		out = append(out, entry{Folder: "INBOX", UID: uint32(i + 1), Subject: s})
	}
	return out
}

func newWriter(t *testing.T, a *archive.Archive) *archive.Writer {
	t.Helper()
	w, err := a.NewWriter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func commit(t *testing.T, w *archive.Writer) {
	t.Helper()
	if err := w.Commit(context.Background()); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// TestRunMessageErrorIsCountedAndSkipped: a *MessageError (also wrapped)
// is one failed message; Run reads on.
func TestRunMessageErrorIsCountedAndSkipped(t *testing.T) {
	me := &importers.MessageError{Position: "fake:1", Err: errors.New("unreadable")}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"MessageError", me},
		{"wrapped MessageError", fmt.Errorf("reading: %w", me)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := archive.TestArchive(t)
			w := newWriter(t, a)
			src := &fakeSource{steps: []step{{raw: msg(0)}, {err: tc.err}, {raw: msg(2)}}}
			rep := &importers.Report{}
			if err := importers.Run(context.Background(), w, src, importers.Options{Account: account}, rep); err != nil {
				t.Fatalf("run: %v", err)
			}
			commit(t, w)
			if want := (archive.RunCounts{New: 2, Failed: 1, Bytes: int64(len(msg(0)) + len(msg(2)))}); rep.RunCounts != want {
				t.Errorf("counts %+v, want %+v", rep.RunCounts, want)
			}
			if want := []archive.RunProblem{{Where: "fake:1", Error: "unreadable", Fatal: true}}; !slices.Equal(rep.Problems, want) {
				t.Errorf("problems %+v, want %+v", rep.Problems, want)
			}
			if !rep.HasFailures() {
				t.Error("HasFailures = false")
			}
			if got, want := committed(t, a), inbox("message 0", "message 2"); !slices.Equal(got, want) {
				t.Errorf("archived %v, want %v", got, want)
			}
		})
	}
}

// TestRunSourceErrorStops: any other error from Next ends the run and is
// returned; what was delivered before it stays deliverable.
func TestRunSourceErrorStops(t *testing.T) {
	a := archive.TestArchive(t)
	w := newWriter(t, a)
	lost := errors.New("connection lost")
	src := &fakeSource{steps: []step{{raw: msg(0)}, {err: lost}, {raw: msg(2)}}}
	rep := &importers.Report{}
	err := importers.Run(context.Background(), w, src, importers.Options{Account: account}, rep)
	if !errors.Is(err, lost) {
		t.Fatalf("run returned %v, want %v", err, lost)
	}
	if src.calls != 2 {
		t.Errorf("Next called %d times, want 2 (nothing after the error)", src.calls)
	}
	if rep.New != 1 || rep.Failed != 0 || len(rep.Problems) != 0 {
		t.Errorf("report %+v %v, want 1 new", rep.RunCounts, rep.Problems)
	}
	commit(t, w)
	if got, want := committed(t, a), inbox("message 0"); !slices.Equal(got, want) {
		t.Errorf("archived %v, want %v", got, want)
	}
}

// TestRunCancelled: a cancelled context ends the run with the context's
// error, and the caller can still commit what was delivered before it,
// checkpoint included.
func TestRunCancelled(t *testing.T) {
	for _, tc := range []struct {
		name      string
		before    func(cancel context.CancelFunc) func(ctx context.Context, call int) error
		preCancel bool
		want      []entry
		state     string
		calls     int
	}{
		{name: "before the run", preCancel: true, calls: 0},
		{name: "while the source waits", before: func(cancel context.CancelFunc) func(context.Context, int) error {
			return func(ctx context.Context, call int) error {
				if call == 3 {
					cancel()
					return ctx.Err()
				}
				return nil
			}
		}, want: inbox("message 0", "message 1"), state: "2", calls: 3},
		// A message handed over after the cancel is not delivered, and the
		// checkpoint stays before it: a resumed run reads it again.
		{name: "after the source returned a message", before: func(cancel context.CancelFunc) func(context.Context, int) error {
			return func(ctx context.Context, call int) error {
				if call == 2 {
					cancel()
				}
				return nil
			}
		}, want: inbox("message 0"), state: "1", calls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := archive.TestArchive(t)
			w := newWriter(t, a)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := &fakeSource{steps: msgs(0, 1, 2, 3)}
			if tc.before != nil {
				src.before = tc.before(cancel)
			}
			if tc.preCancel {
				cancel()
			}
			err := importers.Run(ctx, w, checkpointSource{src}, importers.Options{Account: account}, &importers.Report{})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("run returned %v, want context.Canceled", err)
			}
			if src.calls != tc.calls {
				t.Errorf("Next called %d times, want %d", src.calls, tc.calls)
			}
			// What the CLI does after an interrupt: commit, not cancelled.
			if err := w.Commit(context.WithoutCancel(ctx)); err != nil {
				t.Fatalf("commit after the interrupt: %v", err)
			}
			if got := committed(t, a); !slices.Equal(got, tc.want) {
				t.Errorf("archived %v, want %v", got, tc.want)
			}
			if got := committedState(t, a); got != tc.state {
				t.Errorf("committed checkpoint %q, want %q", got, tc.state)
			}
			archive.TestVerify(t, a)
		})
	}
}

func TestRunDeadline(t *testing.T) {
	a := archive.TestArchive(t)
	w := newWriter(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	src := &fakeSource{steps: msgs(0)}
	if err := importers.Run(ctx, w, src, importers.Options{Account: account}, &importers.Report{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run returned %v, want context.DeadlineExceeded", err)
	}
	if src.calls != 0 {
		t.Errorf("Next called %d times, want 0", src.calls)
	}
}

// TestRunCheckpointsCommitWithMessages: with batches of 3, after 7
// messages the archive has committed 6 messages and the checkpoint after
// the 6th; the 7th and its checkpoint are committed together or lost
// together.
func TestRunCheckpointsCommitWithMessages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		finish  func(w *archive.Writer) error
		entries int
		state   string
	}{
		{"commit", func(w *archive.Writer) error { return w.Commit(context.Background()) }, 7, "7"},
		{"abort", func(w *archive.Writer) error { w.Abort(); return nil }, 6, "6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := archive.TestArchive(t)
			w := newWriter(t, a)
			w.BatchMessages, w.BatchAge = 3, time.Hour
			src := checkpointSource{&fakeSource{steps: msgs(0, 1, 2, 3, 4, 5, 6)}}
			if err := importers.Run(context.Background(), w, src, importers.Options{Account: account}, &importers.Report{}); err != nil {
				t.Fatal(err)
			}
			if got := len(committed(t, a)); got != 6 {
				t.Errorf("before the end of the batch %d entries are committed, want 6", got)
			}
			if got := committedState(t, a); got != "6" {
				t.Errorf("before the end of the batch the committed checkpoint is %q, want \"6\"", got)
			}
			if v, _, err := w.State(context.Background(), "fake:src", "pos"); err != nil || v != "7" {
				t.Errorf("writer's staged checkpoint %q (%v), want \"7\"", v, err)
			}
			if err := tc.finish(w); err != nil {
				t.Fatal(err)
			}
			if got := len(committed(t, a)); got != tc.entries {
				t.Errorf("%d entries committed, want %d", got, tc.entries)
			}
			if got := committedState(t, a); got != tc.state {
				t.Errorf("committed checkpoint %q, want %q", got, tc.state)
			}
			w2 := newWriter(t, a)
			if v, _, _ := w2.State(context.Background(), "fake:src", "pos"); v != tc.state {
				t.Errorf("a new writer reads checkpoint %q, want %q", v, tc.state)
			}
		})
	}
}

// TestRunNoCheckpointForFailedMessage: a message the archive refuses does
// not move the checkpoint past it.
func TestRunNoCheckpointForFailedMessage(t *testing.T) {
	a := archive.TestArchive(t)
	w := newWriter(t, a)
	src := checkpointSource{&fakeSource{steps: []step{{raw: msg(0)}, {raw: ""}}}}
	rep := &importers.Report{}
	if err := importers.Run(context.Background(), w, src, importers.Options{Account: account}, rep); err != nil {
		t.Fatal(err)
	}
	commit(t, w)
	if rep.Failed != 1 || rep.New != 1 {
		t.Errorf("report %+v, want 1 new 1 failed", rep.RunCounts)
	}
	if got := committedState(t, a); got != "1" {
		t.Errorf("checkpoint %q, want \"1\"", got)
	}
}

// TestRunDelivery: what one Run makes of the messages a source gives.
func TestRunDelivery(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    []step
		opts     importers.Options
		counts   archive.RunCounts
		problems []archive.RunProblem
		folders  map[string]string // folder → flags of message 0's entries
	}{
		{
			name:    "folder and flags",
			steps:   []step{{raw: msg(0), folder: "Lists/go", flags: []string{`\seen`, "$Label1", `\Recent`}}},
			counts:  archive.RunCounts{New: 1, Bytes: int64(len(msg(0)))},
			folders: map[string]string{"Lists/go": `$Label1 \Seen`},
		},
		{
			name:    "also in: one message, several folders",
			steps:   []step{{raw: msg(0), alsoIn: []string{"Work", "Travel/2020"}, flags: []string{`\Flagged`}}},
			counts:  archive.RunCounts{New: 1, Bytes: int64(len(msg(0)))},
			folders: map[string]string{"INBOX": `\Flagged`, "Work": `\Flagged`, "Travel/2020": `\Flagged`},
		},
		{
			name:    "options folder overrides folder and also in",
			steps:   []step{{raw: msg(0), folder: "Elsewhere", alsoIn: []string{"Work"}}},
			opts:    importers.Options{Folder: "Saved"},
			counts:  archive.RunCounts{New: 1, Bytes: int64(len(msg(0)))},
			folders: map[string]string{"Saved": ""},
		},
		{
			name:     "bad also-in name is a warning",
			steps:    []step{{raw: msg(0), alsoIn: []string{"a//b"}}},
			counts:   archive.RunCounts{New: 1, Bytes: int64(len(msg(0)))},
			problems: []archive.RunProblem{{Where: "fake:0", Error: `bad name: folder name "a//b" has an empty component`}},
			folders:  map[string]string{"INBOX": ""},
		},
		{
			name:     "bad folder name fails the message",
			steps:    []step{{raw: msg(1), folder: "a//b"}, {raw: msg(0)}},
			counts:   archive.RunCounts{New: 1, Failed: 1, Bytes: int64(len(msg(0)))},
			problems: []archive.RunProblem{{Where: "fake:0", Error: `bad name: folder name "a//b" has an empty component`, Fatal: true}},
			folders:  map[string]string{"INBOX": ""},
		},
		{
			name:     "empty message fails",
			steps:    []step{{raw: ""}, {raw: msg(0)}},
			counts:   archive.RunCounts{New: 1, Failed: 1, Bytes: int64(len(msg(0)))},
			problems: []archive.RunProblem{{Where: "fake:0", Error: "reading message: empty message (0 bytes)", Fatal: true}},
			folders:  map[string]string{"INBOX": ""},
		},
		{
			name:     "warnings are problems that did not fail",
			steps:    []step{{raw: msg(0), warnings: []string{"truncated", "odd"}}},
			counts:   archive.RunCounts{New: 1, Bytes: int64(len(msg(0)))},
			problems: []archive.RunProblem{{Where: "fake:0", Error: "truncated"}, {Where: "fake:0", Error: "odd"}},
			folders:  map[string]string{"INBOX": ""},
		},
		{
			name:    "same bytes again: exists, other folder: linked",
			steps:   []step{{raw: msg(0)}, {raw: msg(0), flags: []string{`\Seen`}}, {raw: msg(0), folder: "Archive"}},
			counts:  archive.RunCounts{New: 1, Linked: 1, Existing: 1, Bytes: int64(len(msg(0)))},
			folders: map[string]string{"INBOX": "", "Archive": ""},
		},
		{
			name:    "same Message-ID, other bytes: near duplicate",
			steps:   []step{{raw: msg(0)}, {raw: msg(0) + "-- \r\nlist footer\r\n", folder: "Lists/x"}},
			counts:  archive.RunCounts{New: 2, NearDups: 1, Bytes: int64(2*len(msg(0)) + len("-- \r\nlist footer\r\n"))},
			folders: map[string]string{"INBOX": ""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := archive.TestArchive(t)
			w := newWriter(t, a)
			tc.opts.Account = account
			rep := &importers.Report{}
			if err := importers.Run(context.Background(), w, &fakeSource{steps: tc.steps}, tc.opts, rep); err != nil {
				t.Fatalf("run: %v", err)
			}
			commit(t, w)
			if rep.RunCounts != tc.counts {
				t.Errorf("counts %+v, want %+v", rep.RunCounts, tc.counts)
			}
			if !slices.Equal(rep.Problems, tc.problems) {
				t.Errorf("problems %+v, want %+v", rep.Problems, tc.problems)
			}
			got := map[string]string{}
			var paths []string
			for _, e := range committed(t, a) {
				if e.Subject == "message 0" && e.Folder != "Lists/x" {
					got[e.Folder] = e.Flags
					paths = append(paths, filesIn(t, a, e.Folder)...)
				}
			}
			if !maps.Equal(got, tc.folders) {
				t.Errorf("message 0 in %q, want %q", got, tc.folders)
			}
			for _, p := range paths[1:] {
				if !sameFile(t, paths[0], p) {
					t.Errorf("%s is not a link to %s", p, paths[0])
				}
			}
			archive.TestVerify(t, a)
		})
	}
}

// TestReportAccumulates: one report across several runs, one per file.
func TestReportAccumulates(t *testing.T) {
	a := archive.TestArchive(t)
	w := newWriter(t, a)
	rep := &importers.Report{}
	opts := importers.Options{Account: account}
	me := &importers.MessageError{Position: "fake:1", Err: errors.New("bad")}
	for _, steps := range [][]step{
		{{raw: msg(0)}, {err: me}},
		{{raw: msg(0)}, {raw: msg(1)}},
	} {
		if err := importers.Run(context.Background(), w, &fakeSource{steps: steps}, opts, rep); err != nil {
			t.Fatal(err)
		}
	}
	commit(t, w)
	want := archive.RunCounts{New: 2, Existing: 1, Failed: 1, Bytes: int64(len(msg(0)) + len(msg(1)))}
	if rep.RunCounts != want || len(rep.Problems) != 1 {
		t.Errorf("counts %+v problems %v, want %+v and one problem", rep.RunCounts, rep.Problems, want)
	}
}

// counter records progress.
type counter struct {
	mu           sync.Mutex
	msgs, bytes  int64
	totalM, totB int64
}

func (c *counter) AddTotal(m, b int64) { c.mu.Lock(); c.totalM += m; c.totB += b; c.mu.Unlock() }
func (c *counter) Add(m, b int64)      { c.mu.Lock(); c.msgs += m; c.bytes += b; c.mu.Unlock() }

// TestRunProgress: every message read counts, failed ones with no bytes.
func TestRunProgress(t *testing.T) {
	a := archive.TestArchive(t)
	w := newWriter(t, a)
	c := &counter{}
	me := &importers.MessageError{Position: "fake:1", Err: errors.New("bad")}
	steps := []step{{raw: msg(0)}, {err: me}, {raw: ""}, {raw: msg(0), folder: "Archive"}}
	if err := importers.Run(context.Background(), w, &fakeSource{steps: steps}, importers.Options{Account: account, Progress: c}, &importers.Report{}); err != nil {
		t.Fatal(err)
	}
	if c.msgs != 4 || c.bytes != int64(2*len(msg(0))) {
		t.Errorf("progress %d messages %d bytes, want 4 and %d", c.msgs, c.bytes, 2*len(msg(0)))
	}
}

func filesIn(t *testing.T, a *archive.Archive, folder string) []string {
	t.Helper()
	dir, err := archive.FolderDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(a.MaildirRoot(), account, dir, "cur")
	ents, err := os.ReadDir(cur)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(cur, e.Name()))
	}
	return out
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	sa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(sa, sb)
}
