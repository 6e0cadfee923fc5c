package smtp

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/faultproxy"
	"github.com/mailark/mailark/internal/postfixtest"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/internal/tlsopt"
)

// TestNetFaults is the network-fault matrix against a real Postfix: an
// unfaulted export through the proxy measures the byte stream, then each
// case sends the same selection to its own recipient with one fault (a
// cut at a spread offset, a stall longer than the timeout, every chunk
// delayed). The faulted run must report the failure or complete; every
// delivered message must be an archived message byte for byte past the
// headers Postfix adds, none twice; and a rerun without faults (same
// server and recipient, so the receipts apply) must deliver exactly the
// rest. The one exception SMTP cannot avoid (RFC 1047): a message whose
// final answer was lost is reported "delivery uncertain", gets no receipt,
// and the rerun sends it again; such a copy is allowed, and logged.
// MAILARK_NETFAULT_CUTS sets the number of cuts; MAILARK_MATRIX_OUT
// receives the summary line.
func TestNetFaults(t *testing.T) {
	pf := postfixtest.Start(t)
	a := archive.TestArchive(t)
	msgs, err := testcorpus.All(testcorpus.Options{Seed: 29, Count: 40, BigMessage: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	want := map[archive.ID]bool{}
	for _, copies := range exportertest.Expected(t, sel) {
		for _, c := range copies {
			want[c.ID] = true
		}
	}

	p := faultproxy.Start(t, pf.Addr, nil)
	const timeout = 3 * time.Second // Postfix answers the final dot after an fsync: slow on a busy disk
	opts := func(rcpt string) Options {
		return Options{Addr: p.Addr, TLS: tlsopt.None, From: "exporter@example.org", To: []string{rcpt},
			Backoff: 20 * time.Millisecond, Timeout: timeout}
	}

	rep := run(t, a, sel, opts("ref@example.net"))
	if tot := rep.Total(); tot.Failed.Messages != 0 || tot.Done.Messages != int64(len(want)) {
		t.Fatalf("unfaulted export: %+v", tot)
	}
	if lost, dup := compareDelivered(t, delivered(t, pf, "ref@example.net", want), want, nil); lost+dup > 0 {
		t.Fatal("the unfaulted export is wrong")
	}
	measured := p.Stats()
	t.Logf("unfaulted export: %d connections, %d bytes up, %d down", measured.Conns, measured.Up, measured.Down)
	cases, err := faultproxy.Matrix(measured.PerConn, faultproxy.MatrixOptions{
		Cuts: faultproxy.Cuts(t), Delay: 3 * time.Millisecond, Chunk: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}

	row := faultproxy.Row{Name: "exporters/smtp"}
	for i, c := range cases {
		rcpt := fmt.Sprintf("case%d@example.net", i)
		t.Run(c.Name, func(t *testing.T) {
			rep := &exporters.Report{}
			start := time.Now()
			out := row.Run(t, p, c, "export", func(ctx context.Context) error {
				return Run(ctx, a, sel, opts(rcpt), rep)
			})
			tot := rep.Total()
			complete := out.Err == nil && tot.Failed.Messages == 0
			t.Logf("faulted run in %v: err %v; done %d, failed %d", time.Since(start).Round(time.Millisecond),
				out.Err, tot.Done.Messages, tot.Failed.Messages)
			// Messages whose delivery the run could not know.
			uncertain := map[string]bool{}
			probs, _ := rep.Problems()
			for _, pr := range probs {
				t.Logf("problem: %s: %s", pr.Where, pr.Error)
				if strings.Contains(pr.Error, ErrUncertain.Error()) {
					uncertain[shortOf(pr.Where)] = true
				}
			}
			if c.Kind == faultproxy.None && !complete {
				t.Errorf("slow run: err %v, %+v; want a clean run", out.Err, tot)
			}
			got := delivered(t, pf, rcpt, want)
			if complete {
				compareDelivered(t, got, want, nil)
			} else {
				for id, n := range got {
					if !want[id] || n > 1 {
						t.Errorf("message %s delivered %d times, selected %v", id.Short(), n, want[id])
					}
				}
			}

			rrep := run(t, a, sel, opts(rcpt))
			if rt := rrep.Total(); rt.Failed.Messages != 0 {
				t.Errorf("rerun: %+v", rt)
			}
			lost, dup := compareDelivered(t, delivered(t, pf, rcpt, want), want, uncertain)
			row.Lost += lost
			row.Duplicated += dup
		})
	}
	faultproxy.Report(t, row)
}

// shortOf is the short ID at the end of a problem's place, "(abcdef012345)".
func shortOf(where string) string {
	i := strings.LastIndexByte(where, '(')
	if i < 0 {
		return where
	}
	return strings.TrimSuffix(where[i+1:], ")")
}

// delivered waits for Postfix's queue to drain and counts the messages
// delivered to rcpt (its Received header names the one recipient) by the
// ID of the message as sent.
func delivered(t *testing.T, pf *postfixtest.Server, rcpt string, want map[archive.ID]bool) map[archive.ID]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command("postqueue", "-c", filepath.Join(pf.Dir, "etc"), "-p").CombinedOutput()
		if err != nil {
			t.Fatalf("postqueue -p: %v\n%s", err, out)
		}
		if bytes.Contains(out, []byte("Mail queue is empty")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix's queue did not drain:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := map[archive.ID]int{}
	for _, f := range pf.Messages(t) {
		added, msg, ok := postfixtest.Body(f)
		if !ok {
			t.Errorf("delivered file does not start with Postfix's headers:\n%.300s", f)
			continue
		}
		if !strings.Contains(added[2], "for <"+rcpt+">") {
			continue
		}
		id := archive.Sum(msg)
		if !want[id] && bytes.HasSuffix(msg, []byte("\r\n")) {
			// A message without a final line break gets one from SMTP.
			if short := archive.Sum(msg[:len(msg)-2]); want[short] {
				id = short
			}
		}
		got[id]++
	}
	return got
}

// compareDelivered checks that got holds each wanted message once and
// nothing else; a message in uncertain may be there twice. It returns the
// messages missing and the copies in excess (uncertain ones excepted).
func compareDelivered(t *testing.T, got map[archive.ID]int, want map[archive.ID]bool, uncertain map[string]bool) (lost, dup int) {
	t.Helper()
	for id := range want {
		if got[id] == 0 {
			lost++
			t.Errorf("message %s was not delivered", id.Short())
		}
	}
	for id, n := range got {
		switch {
		case !want[id]:
			t.Errorf("a delivered message (%s) is no selected message byte for byte", id.Short())
		case n == 2 && uncertain[id.Short()]:
			t.Logf("message %s delivered twice: its delivery was reported uncertain", id.Short())
		case n > 1:
			dup += n - 1
			t.Errorf("message %s delivered %d times", id.Short(), n)
		}
	}
	return lost, dup
}
