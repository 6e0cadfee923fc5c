// Package exportertest builds archives for exporter tests and describes
// what an export of them must produce.
package exportertest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/testcorpus"
)

// Corpus generates n messages of the test corpus (with the odd ones when
// odd is set and n reaches them).
func Corpus(t testing.TB, n int, seed int64, odd bool) []*testcorpus.Message {
	t.Helper()
	var msgs []*testcorpus.Message
	err := testcorpus.Generate(testcorpus.Options{Seed: seed, Count: n, Odd: odd && n >= 60}, func(m *testcorpus.Message) error {
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// Fill delivers msgs into account of a, keeping folders, flags and
// internal dates, and commits.
func Fill(t testing.TB, a *archive.Archive, account string, msgs []*testcorpus.Message) {
	t.Helper()
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		flags := m.Flags
		if m.New {
			flags = nil
		}
		if _, err := w.Deliver(ctx, bytes.NewReader(m.Raw), archive.Meta{Account: account, Folder: m.Folder, Flags: flags, InternalDate: m.InternalDate}); err != nil {
			t.Fatalf("delivering message %d: %v", m.Seq, err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// Copy is what an export must reproduce of one folder entry.
type Copy struct {
	ID           archive.ID
	Flags        []string
	InternalDate time.Time
	Size         int64 // CRLF
	MessageID    string
	Path         string
}

// Expected lists the selected entries per "account/folder", in selection
// order.
func Expected(t testing.TB, sel *archive.Selection) map[string][]Copy {
	t.Helper()
	out := map[string][]Copy{}
	err := sel.Each(context.Background(), func(e *archive.SelectedEntry) error {
		k := e.Account + "/" + e.Folder
		out[k] = append(out[k], Copy{ID: e.ID, Flags: slices.Clone(e.Flags), InternalDate: e.InternalDate, Size: e.CRLFSize, MessageID: e.MessageID, Path: e.Path})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SelectAll selects every entry of a.
func SelectAll(t testing.TB, a *archive.Archive) *archive.Selection {
	t.Helper()
	sel, err := a.Select(context.Background(), archive.SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sel
}
