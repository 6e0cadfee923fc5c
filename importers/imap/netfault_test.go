package imap

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/faultproxy"
	"github.com/mailark/mailark/internal/testcorpus"
)

// TestNetFaults is the network-fault matrix against a real Dovecot: an
// unfaulted import through the proxy measures the byte stream, then each
// case imports into a fresh archive with one fault (a cut at a spread
// offset, a stall longer than the idle timeout, every chunk delayed). The
// faulted run must report the failure or reconnect and complete, and never
// store a partial message; a rerun without faults must then hold exactly
// what the unfaulted import holds. MAILARK_NETFAULT_CUTS sets the number of
// cuts; MAILARK_MATRIX_OUT receives the summary line.
func TestNetFaults(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	msgs := fillCorpus(t, s, testcorpus.Options{Seed: 31, Count: 60, Odd: true, BigMessage: 200 << 10})
	source := map[string]bool{}
	for _, m := range msgs {
		source[m.id] = true
	}
	p := faultproxy.Start(t, s.IMAPAddr, nil)
	const idle = 2 * time.Second
	opts := func() Options {
		o := dovecotOptions(t, s, false)
		// One connection carries the whole run, so that an offset in the
		// measured stream names one place in it; Host keeps the sync state
		// independent of the proxy.
		o.Addr, o.Host, o.Connections = p.Addr, "dovecot", 1
		o.IdleTimeout, o.ConnectTimeout, o.MaxRetries = idle, 5*time.Second, 3
		return o
	}

	ref := archive.TestArchive(t)
	if _, rep := mustImport(t, ref, opts()); rep.Failed != 0 {
		t.Fatalf("unfaulted import: %+v %+v", rep.RunCounts, rep.Problems)
	}
	compareCatalog(t, catalog(t, ref, "alice"), expectedCatalog(msgs))
	want := entryCounts(t, ref)
	measured := p.Stats()
	t.Logf("unfaulted import: %d connections, %d bytes down, %d up", measured.Conns, measured.Down, measured.Up)
	cases, err := faultproxy.Matrix(measured.PerConn, faultproxy.MatrixOptions{
		Cuts: faultproxy.Cuts(t), Delay: 10 * time.Millisecond, Chunk: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}

	row := faultproxy.Row{Name: "importers/imap"}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			a := archive.TestArchive(t)
			var sum *Summary
			rep := &importers.Report{}
			out := row.Run(t, p, c, "import", func(ctx context.Context) error {
				var err error
				sum, err = importCtx(ctx, t, a, opts(), rep)
				return err
			})
			complete := out.Err == nil && rep.Failed == 0
			t.Logf("faulted run: err %v, %+v, %d reconnects, %d problems", out.Err, rep.RunCounts, sum.Reconnects, len(rep.Problems))
			switch c.Kind {
			case faultproxy.None:
				// Slow but never silent for the idle timeout: no reconnect.
				if !complete || sum.Reconnects != 0 {
					t.Errorf("slow run: err %v, %d failed, %d reconnects; want a clean run", out.Err, rep.Failed, sum.Reconnects)
				}
			case faultproxy.Stall:
				if sum.Reconnects == 0 {
					t.Errorf("the stall went unnoticed (no reconnect)")
				}
			}
			if complete {
				checkCounts(t, entryCounts(t, a), want)
			}
			// Nothing partial: every entry is a source message, every file
			// hashes to its name, nothing is left in tmp/.
			for key := range entryCounts(t, a) {
				if !source[key.id] {
					t.Errorf("%s: stored message %s is no source message", key.folder, key.id[:12])
				}
			}
			if n := tmpFiles(t, a, "alice"); n > 0 {
				t.Errorf("%d files left in tmp/", n)
			}
			archive.TestVerify(t, a)

			_, rrep := mustImport(t, a, opts())
			if rrep.Failed != 0 {
				t.Errorf("rerun: %+v %+v", rrep.RunCounts, rrep.Problems)
			}
			lost, dup := checkCounts(t, entryCounts(t, a), want)
			row.Lost += lost
			row.Duplicated += dup
			archive.TestVerify(t, a)
		})
	}
	faultproxy.Report(t, row)
}

// importCtx is importInto with a context.
func importCtx(ctx context.Context, t *testing.T, a *archive.Archive, o Options, rep *importers.Report) (*Summary, error) {
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Error(err)
		return &Summary{}, err
	}
	sum, err := Run(ctx, w, o, rep, nil)
	if cerr := w.Commit(context.Background()); cerr != nil {
		t.Errorf("commit: %v", cerr)
	}
	if sum == nil {
		sum = &Summary{}
	}
	return sum, err
}

type folderID struct{ folder, id string }

// entryCounts counts the catalog's entries per folder and message.
func entryCounts(t *testing.T, a *archive.Archive) map[folderID]int {
	t.Helper()
	rows, err := a.DB().Query(`SELECT f.name, m.hash, count(*) FROM entries e
		JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message GROUP BY f.name, m.hash`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[folderID]int{}
	for rows.Next() {
		var k folderID
		var h []byte
		var n int
		if err := rows.Scan(&k.folder, &h, &n); err != nil {
			t.Fatal(err)
		}
		k.id = hex.EncodeToString(h)
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCounts compares entry counts with the unfaulted run's and returns
// the entries missing and those in excess.
func checkCounts(t *testing.T, got, want map[folderID]int) (lost, dup int) {
	t.Helper()
	for k, n := range want {
		if d := n - got[k]; d > 0 {
			lost += d
			t.Errorf("%s: message %s missing (%d of %d entries)", k.folder, k.id[:12], got[k], n)
		}
	}
	for k, n := range got {
		if d := n - want[k]; d > 0 {
			dup += d
			t.Errorf("%s: message %s has %d entries, want %d", k.folder, k.id[:12], n, want[k])
		}
	}
	return lost, dup
}
