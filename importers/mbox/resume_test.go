package mbox

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/mbox"
)

// corpusMbox writes count corpus messages as an mboxrd file with
// package mbox's writer and returns the path, the offset just past each
// message, and the corpus messages.
func corpusMbox(t *testing.T, count int) (string, []int64, []*testcorpus.Message) {
	t.Helper()
	var msgs []*testcorpus.Message
	err := testcorpus.Generate(testcorpus.Options{Seed: 7, Count: count}, func(m *testcorpus.Message) error {
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := mbox.NewWriter(&buf)
	var ends []int64
	for _, m := range msgs {
		if _, err := w.WriteMessage(m.From, m.InternalDate, bytes.NewReader(m.Raw)); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, int64(buf.Len()))
	}
	path := filepath.Join(t.TempDir(), "corpus.mbox")
	writeFile(t, path, buf.String())
	return path, ends, msgs
}

// committedState reads a sync_state value as committed (the archive's
// read connection does not see a batch in progress).
func committedState(t *testing.T, a *archive.Archive, source, key string) string {
	t.Helper()
	var v string
	if err := a.DB().QueryRow(`SELECT value FROM sync_state WHERE source = ? AND key = ?`, source, key).Scan(&v); err != nil {
		t.Fatalf("reading committed state %s %s: %v", source, key, err)
	}
	return v
}

func checkpointOffset(t *testing.T, cp string) int64 {
	t.Helper()
	_, off, ok := strings.Cut(cp, " ")
	n, err := strconv.ParseInt(off, 10, 64)
	if !ok || err != nil {
		t.Fatalf("checkpoint %q is not \"fingerprint offset\"", cp)
	}
	return n
}

// TestResumeAfterInterrupt: a run cancelled after k messages keeps them
// and their checkpoint; a run opened with that checkpoint reads only the
// rest, and the archive ends up as one uninterrupted run makes it.
func TestResumeAfterInterrupt(t *testing.T) {
	const count, k = 40, 17
	path, ends, msgs := corpusMbox(t, count)
	ref, _ := importFile(t, path, Options{Labels: true})
	want := catalogEntries(t, ref)

	// Every corpus message is there, under its own identity and with the
	// From_ date as internal date.
	wantIDs := map[string]int64{}
	for _, m := range msgs {
		id := m.ID()
		wantIDs[hex.EncodeToString(id[:])] = m.InternalDate.Unix()
	}
	gotIDs := map[string]int64{}
	for _, e := range want {
		gotIDs[e.ID] = e.Date
	}
	if len(gotIDs) != len(wantIDs) {
		t.Errorf("uninterrupted import has %d distinct messages, corpus %d", len(gotIDs), len(wantIDs))
	}
	for id := range wantIDs {
		if _, ok := gotIDs[id]; !ok {
			t.Errorf("corpus message %s missing from the uninterrupted import", id[:12])
		}
	}

	a := archive.TestArchive(t)
	w := newWriter(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &countingSource{Source: openSource(t, path, "", Options{Labels: true}), stopAfter: k,
		stop: func() error { cancel(); return ctx.Err() }}
	rep := &importers.Report{}
	if err := importers.Run(ctx, w, first, importers.Options{Account: account}, rep); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run returned %v, want context.Canceled", err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first.n != k {
		t.Fatalf("first run read %d messages, want %d", first.n, k)
	}
	cp, ok, err := w.State(context.Background(), StateSource(path), "offset")
	if err != nil || !ok {
		t.Fatalf("no checkpoint after the interrupted run: %v", err)
	}
	if got := checkpointOffset(t, cp); got != ends[k-1] {
		t.Errorf("checkpoint offset %d, want %d (the end of message %d)", got, ends[k-1], k)
	}
	if c := committedState(t, a, StateSource(path), "offset"); c != cp {
		t.Errorf("committed checkpoint %q, writer sees %q", c, cp)
	}

	rest := &countingSource{Source: openSource(t, path, cp, Options{Labels: true})}
	if rest.Resumed() != ends[k-1] {
		t.Errorf("resumed at %d, want %d", rest.Resumed(), ends[k-1])
	}
	runSource(t, w, rest)
	if rest.n != count-k {
		t.Errorf("resumed run read %d messages, want %d", rest.n, count-k)
	}
	if got := catalogEntries(t, a); !slices.Equal(got, want) {
		t.Errorf("resumed archive differs from an uninterrupted import:\n got %v\nwant %v", got, want)
	}
	archive.TestVerify(t, a)

	// Done: the checkpoint is the end of the file, and a third run reads nothing.
	cp, _, _ = w.State(context.Background(), StateSource(path), "offset")
	if got := checkpointOffset(t, cp); got != ends[count-1] {
		t.Errorf("final checkpoint %d, want the file size %d", got, ends[count-1])
	}
	again := &countingSource{Source: openSource(t, path, cp, Options{Labels: true})}
	runSource(t, w, again)
	if again.n != 0 {
		t.Errorf("run after completion read %d messages, want 0", again.n)
	}
}

// numbered is n distinct small messages as an mbox, and the offset just
// past each.
func numbered(n int) (string, []int64) {
	var b strings.Builder
	var ends []int64
	for i := range n {
		fmt.Fprintf(&b, "From n%d@example.org Mon Jan  2 15:04:%02d 2006\nSubject: number %d\nMessage-ID: <%d@example.org>\n\nbody %d\n\n", i, i, i, i, i)
		ends = append(ends, int64(b.Len()))
	}
	return b.String(), ends
}

// TestCrashKeepsCheckpointWithItsMessages: with batches of 5, a run that
// dies after 11 messages leaves 10 committed and the checkpoint after the
// 10th; resuming there reads the 4 others and completes the archive.
func TestCrashKeepsCheckpointWithItsMessages(t *testing.T) {
	file, ends := numbered(14)
	path := filepath.Join(t.TempDir(), "n.mbox")
	writeFile(t, path, file)
	ref, _ := importFile(t, path, Options{})
	want := catalogEntries(t, ref)

	a := archive.TestArchive(t)
	w := newWriter(t, a)
	w.BatchMessages, w.BatchAge = 5, time.Hour
	disk := errors.New("disk on fire")
	src := &countingSource{Source: openSource(t, path, "", Options{}), stopAfter: 11, stop: func() error { return disk }}
	if err := importers.Run(context.Background(), w, src, importers.Options{Account: account}, &importers.Report{}); !errors.Is(err, disk) {
		t.Fatalf("run returned %v, want the source's error", err)
	}
	w.Abort() // the process dies: the open batch (message 11) is lost

	got := catalogEntries(t, a)
	if len(got) != 10 || !slices.Equal(got, want[:10]) {
		t.Fatalf("after the crash the catalog has %d entries, want the first 10 of the full import: %v", len(got), got)
	}
	cp := committedState(t, a, StateSource(path), "offset")
	if off := checkpointOffset(t, cp); off != ends[9] {
		t.Fatalf("committed checkpoint at %d, want %d (after message 10)", off, ends[9])
	}
	w2 := newWriter(t, a)
	if v, _, _ := w2.State(context.Background(), StateSource(path), "offset"); v != cp {
		t.Errorf("a new writer sees checkpoint %q, want %q", v, cp)
	}
	rest := &countingSource{Source: openSource(t, path, cp, Options{})}
	runSource(t, w2, rest)
	if rest.n != 4 {
		t.Errorf("resumed run read %d messages, want 4", rest.n)
	}
	if got := catalogEntries(t, a); !slices.Equal(got, want) {
		t.Errorf("resumed archive differs from an uninterrupted import:\n got %v\nwant %v", got, want)
	}
	archive.TestVerify(t, a)
}

// TestCheckpointOnlyForItsFile: the checkpoint is used only while the file
// starts with the bytes it was taken on and is long enough for it.
func TestCheckpointOnlyForItsFile(t *testing.T) {
	// Three messages of 30 KB: larger than the 64 KiB fingerprint.
	big := func(i int) string {
		return fmt.Sprintf("From b%d@example.org Mon Jan  2 15:04:%02d 2006\nSubject: big %d\n\n%s\n\n", i, i, i,
			strings.Repeat(fmt.Sprintf("line %d of a long message\n", i), 30<<10/26))
	}
	bigFile := big(0) + big(1) + big(2)
	small, _ := numbered(3)
	other, _ := numbered(5)
	other = strings.Replace(other, "body 0", "BODY 0", 1)

	for _, tc := range []struct {
		name       string
		first      string // the file when the checkpoint is taken
		then       string // the file when it is used
		resume     func(cp string) string
		resumedAt  int64
		messages   int
		wantBodies int // entries in the archive at the end
	}{
		{"replaced by another file", small, other, nil, 0, 5, 6},
		{"grown past the fingerprint", bigFile, bigFile + big(3) + big(4), nil, int64(len(bigFile)), 2, 5},
		{"small file grown", small, small + big(3), nil, int64(len(small)), 1, 4},
		{"cut before the offset", bigFile, bigFile[:len(bigFile)-1000], nil, 0, 3, 4},
		{"malformed checkpoint", small, small, func(string) string { return "not a checkpoint" }, 0, 3, 3},
		{"offset not a number", small, small, func(cp string) string { fp, _, _ := strings.Cut(cp, " "); return fp + " x" }, 0, 3, 3},
		{"unchanged", small, small, nil, int64(len(small)), 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.mbox")
			writeFile(t, path, tc.first)
			a := archive.TestArchive(t)
			w := newWriter(t, a)
			runSource(t, w, openSource(t, path, "", Options{}))
			cp, ok, err := w.State(context.Background(), StateSource(path), "offset")
			if err != nil || !ok {
				t.Fatalf("no checkpoint: %v", err)
			}
			if tc.resume != nil {
				cp = tc.resume(cp)
			}
			if err := os.WriteFile(path, []byte(tc.then), 0o600); err != nil {
				t.Fatal(err)
			}
			src := &countingSource{Source: openSource(t, path, cp, Options{})}
			if src.Resumed() != tc.resumedAt {
				t.Errorf("resumed at %d, want %d", src.Resumed(), tc.resumedAt)
			}
			runSource(t, w, src)
			if src.n != tc.messages {
				t.Errorf("read %d messages, want %d", src.n, tc.messages)
			}
			if got := len(catalogEntries(t, a)); got != tc.wantBodies {
				t.Errorf("%d entries at the end, want %d", got, tc.wantBodies)
			}
		})
	}
}
