package imapserver

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
)

// TestIdle: mail archived while a client is connected (here through the
// archive API, in process) shows up as EXISTS, in IDLE and after NOOP.
func TestIdle(t *testing.T) {
	f, err := buildFixture(t.TempDir(), 5)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	n := len(f.msgs["work/INBOX"])
	c.transactf("OK", "SELECT INBOX")
	add := func(i int) string {
		ctx := context.Background()
		w, err := f.arch.NewWriter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raw := fmt.Sprintf("Subject: new %d\r\n\r\nnew mail %d\r\n", i, i)
		if _, err := w.Deliver(ctx, bytes.NewReader([]byte(raw)), archive.Meta{Account: "work", Folder: "INBOX", InternalDate: plainDate}); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return raw
	}
	c.write("i1 IDLE\r\n")
	if l := c.readLine(); l != "+ idling" {
		t.Fatalf("idle: %q", l)
	}
	start := time.Now()
	raw := add(1)
	if l := c.readLine(); l != fmt.Sprintf("* %d EXISTS", n+1) {
		t.Fatalf("in idle: %q", l)
	}
	t.Logf("EXISTS after %v", time.Since(start))
	c.write("DONE\r\n")
	if l := c.readLine(); l != "i1 OK IDLE completed" {
		t.Fatalf("done: %q", l)
	}
	c.xuntagged(c.transactf("OK", "FETCH %d BODY.PEEK[]", n+1), fmt.Sprintf("* %d FETCH (UID %d BODY[] {%d}\r\n%s)", n+1, n+1, len(raw), raw))

	add(2)
	time.Sleep(pollEvery + 100*time.Millisecond)
	c.xuntagged(c.transactf("OK", "NOOP"), fmt.Sprintf("* %d EXISTS", n+2))
	c.xuntagged(c.transactf("OK", "UID SEARCH SUBJECT new"), fmt.Sprintf("* SEARCH %d %d", n+1, n+2))
}
