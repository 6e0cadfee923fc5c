package imap

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/faultproxy"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/internal/tlsopt"
)

// TestNetFaults is the network-fault matrix against a real Dovecot: an
// unfaulted export through the proxy measures the byte stream, then each
// case exports the same selection to a fresh Dovecot user with one fault
// (a cut at a spread offset, a stall longer than the timeout, every chunk
// delayed). The faulted run must report the failure or reconnect and
// complete; every message on the target must be an archived message byte
// for byte, none twice; and a rerun without faults (same target, so the
// receipts and reconciliation apply) must leave exactly the selection
// there. MAILARK_NETFAULT_CUTS sets the number of cuts;
// MAILARK_MATRIX_OUT receives the summary line.
func TestNetFaults(t *testing.T) {
	ncuts := faultproxy.Cuts(t)
	users := []dovecottest.User{{Name: "ref", Password: "secret"}}
	for i := range ncuts + 2 { // the cuts, the stall, the slow run
		users = append(users, dovecottest.User{Name: fmt.Sprintf("case%d", i), Password: "secret"})
	}
	d := dovecottest.Start(t, dovecottest.Options{Users: users})
	a := archive.TestArchive(t)
	msgs, err := testcorpus.All(testcorpus.Options{Seed: 23, Count: 40, BigMessage: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	// want is target folder -> the distinct IDs selected for it.
	want := map[string]map[archive.ID]bool{}
	archived := map[archive.ID]bool{}
	for src, copies := range exportertest.Expected(t, sel) {
		folder := strings.TrimPrefix(src, "work/")
		want[folder] = map[archive.ID]bool{}
		for _, c := range copies {
			want[folder][c.ID] = true
			archived[c.ID] = true
		}
	}

	p := faultproxy.Start(t, d.IMAPAddr, nil)
	const timeout = 2 * time.Second
	opts := func(user string) Options {
		// One appending connection (and the control one), so that an
		// offset in the measured stream names one place in the run.
		return Options{Addr: p.Addr, TLS: tlsopt.StartTLS, TLSConfig: d.TLSConfig(), User: user, Password: "secret",
			Logger: testLogger(t), Connections: 1, IdleTimeout: timeout, ReconnectDelay: 100 * time.Millisecond,
			Grace: 2 * time.Second}
	}

	if rep := runExport(t, a, sel, opts("ref")); rep.Total().Failed.Messages != 0 {
		logProblems(t, rep)
		t.Fatalf("unfaulted export: %+v", rep.Total())
	}
	if lost, dup := compareTarget(t, fetchAll(t, d.IMAPAddr, "ref", "secret"), want, archived); lost+dup > 0 {
		t.Fatalf("the unfaulted export is wrong")
	}
	measured := p.Stats()
	t.Logf("unfaulted export: %d connections, %d bytes up, %d down; per connection %+v", measured.Conns, measured.Up, measured.Down, measured.PerConn)
	cases, err := faultproxy.Matrix(measured.PerConn, faultproxy.MatrixOptions{
		Cuts: ncuts, Delay: 3 * time.Millisecond, Chunk: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}

	row := faultproxy.Row{Name: "exporters/imap"}
	for i, c := range cases {
		user := users[i+1].Name
		t.Run(c.Name, func(t *testing.T) {
			rep := &exporters.Report{}
			start := time.Now()
			out := row.Run(t, p, c, "export", func(ctx context.Context) error {
				return Run(ctx, a, sel, opts(user), rep)
			})
			tot := rep.Total()
			complete := out.Err == nil && tot.Failed.Messages == 0 && tot.Left.Messages == 0
			t.Logf("faulted run in %v: err %v; done %d, found %d, failed %d, left %d", time.Since(start).Round(time.Millisecond),
				out.Err, tot.Done.Messages, tot.Found.Messages, tot.Failed.Messages, tot.Left.Messages)
			logProblems(t, rep)
			if c.Kind == faultproxy.None && !complete {
				t.Errorf("slow run: err %v, %+v; want a clean run", out.Err, tot)
			}
			got := fetchAll(t, d.IMAPAddr, user, "secret")
			if complete {
				compareTarget(t, got, want, archived)
			} else {
				// Whatever is there is whole and there once.
				for folder, ms := range got {
					n := map[archive.ID]int{}
					for _, m := range ms {
						if n[m.ID]++; n[m.ID] == 2 || !archived[m.ID] || !want[folder][m.ID] {
							t.Errorf("%s: message %s: %d copies, archived %v, selected for it %v", folder, m.ID.Short(), n[m.ID], archived[m.ID], want[folder][m.ID])
						}
					}
				}
			}

			rrep := runExport(t, a, sel, opts(user))
			if rt := rrep.Total(); rt.Failed.Messages != 0 || rt.Left.Messages != 0 {
				logProblems(t, rrep)
				t.Errorf("rerun: %+v", rt)
			}
			lost, dup := compareTarget(t, fetchAll(t, d.IMAPAddr, user, "secret"), want, archived)
			row.Lost += lost
			row.Duplicated += dup
		})
	}
	faultproxy.Report(t, row)
}

// compareTarget checks that the target holds each wanted message once in
// its folder and nothing else, every message an archived one byte for byte
// (the ID is the hash of the bytes fetched); it returns the messages
// missing and the copies in excess.
func compareTarget(t *testing.T, got map[string][]onTarget, want map[string]map[archive.ID]bool, archived map[archive.ID]bool) (lost, dup int) {
	t.Helper()
	for folder, ids := range want {
		n := map[archive.ID]int{}
		for _, m := range got[folder] {
			n[m.ID]++
		}
		for id := range ids {
			if n[id] == 0 {
				lost++
				t.Errorf("%s: message %s missing", folder, id.Short())
			}
		}
	}
	for folder, ms := range got {
		n := map[archive.ID]int{}
		for _, m := range ms {
			n[m.ID]++
			switch {
			case !archived[m.ID]:
				t.Errorf("%s: message %s (%d bytes) is no archived message", folder, m.ID.Short(), len(m.Raw))
			case !want[folder][m.ID]:
				t.Errorf("%s: message %s was not selected for this folder", folder, m.ID.Short())
			case n[m.ID] > 1:
				dup++
				t.Errorf("%s: message %s is there %d times", folder, m.ID.Short(), n[m.ID])
			}
		}
	}
	return lost, dup
}
