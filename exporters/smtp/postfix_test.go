package smtp

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/postfixtest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// TestPostfix sends a selection (every odd kind included) into a real
// Postfix on 127.0.0.1 and compares what it delivered to its Maildir with
// the archive: past the Return-Path, Delivered-To and Received headers
// Postfix adds, each file is the archived message byte for byte (CRLF
// form), each sendable message arrives once, and the others are reported.
func TestPostfix(t *testing.T) {
	pf := postfixtest.Start(t)
	a := archive.TestArchive(t)
	msgs := exportertest.Corpus(t, 70, 9, true)
	exportertest.Fill(t, a, "work", msgs)
	sel, err := a.Select(t.Context(), archive.SelectOptions{Folders: []string{"INBOX", "Archive*"}})
	if err != nil {
		t.Fatal(err)
	}
	exp := exportertest.Expected(t, sel)
	o := Options{Addr: pf.Addr, TLS: tlsopt.None, From: "exporter@example.org",
		To: []string{"someone@example.net", "other@example.com"}, Backoff: 10 * time.Millisecond}
	rep := run(t, a, sel, o)
	tot := rep.Total()

	want := map[archive.ID]int{}
	for _, copies := range exp {
		for _, c := range copies {
			want[c.ID] = 0
		}
	}
	probs, _ := rep.Problems()
	for _, p := range probs {
		t.Logf("%s: %s", p.Where, p.Error)
	}
	delivered := pf.Wait(t, int(tot.Done.Messages), 30*time.Second)
	if int64(len(delivered)) != tot.Done.Messages {
		t.Errorf("%d files delivered, the report says %d sent", len(delivered), tot.Done.Messages)
	}
	for _, f := range delivered {
		added, msg, ok := postfixtest.Body(f)
		if !ok {
			t.Errorf("delivered file does not start with Postfix's headers:\n%.300s", f)
			continue
		}
		if !strings.Contains(added[0], "<exporter@example.org>") {
			t.Errorf("Return-Path %q, want the envelope sender", added[0])
		}
		id := archive.Sum(msg)
		n, ok := want[id]
		if !ok && bytes.HasSuffix(msg, []byte("\r\n")) {
			// A message without a final line break gets one from SMTP.
			id = archive.Sum(msg[:len(msg)-2])
			n, ok = want[id]
		}
		if !ok {
			t.Errorf("delivered message is no archived message byte for byte:\n%.400s", msg)
			continue
		}
		want[id] = n + 1
	}
	failed := 0
	for id, n := range want {
		switch n {
		case 0:
			failed++
		case 1:
		default:
			t.Errorf("%s delivered %d times", id.Short(), n)
		}
	}
	if int64(failed) != tot.Failed.Messages {
		t.Errorf("%d selected messages were not delivered, the report says %d failed", failed, tot.Failed.Messages)
	}
	for _, m := range msgs {
		if m.HasTag("odd:long-body-line") || m.HasTag("odd:nul-byte") {
			if n, sel := want[m.ID()]; sel && n != 0 {
				t.Errorf("%v was sent; it cannot be sent unchanged", m.Tags)
			}
		}
	}
}
