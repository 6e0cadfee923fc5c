package imap

import (
	"context"
	"slices"
	"testing"

	"github.com/mailark/mailark/archive"
)

func TestCanonicalName(t *testing.T) {
	for _, tc := range []struct {
		mailbox string
		delim   rune
		want    string
		bad     bool
	}{
		{"inbox", '/', "INBOX", false},
		{"INBOX.Sent", '.', "INBOX/Sent", false},
		{"Archive/2019", '/', "Archive/2019", false},
		{"Archive.2019", '.', "Archive/2019", false},
		{"a/b.c", '.', "a\u2215b/c", false},
		{"a/b", 0, "a\u2215b", false},
		{"Reçus & Factures", '/', "Reçus & Factures", false},
		{"x..y", '.', "", true},
		{"bell\x07", '/', "", true},
	} {
		got, err := CanonicalName(tc.mailbox, tc.delim)
		if tc.bad {
			if err == nil {
				t.Errorf("CanonicalName(%q, %q) = %q, want an error", tc.mailbox, tc.delim, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CanonicalName(%q, %q) = %q, %v; want %q", tc.mailbox, tc.delim, got, err, tc.want)
		}
	}
}

func TestAccountName(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice", "alice@example.org": "alice@example.org", "DOMAIN\\bob": "DOMAIN_bob",
		".hidden": "hidden", "-x": "x", "": "imap", "??": "imap", "jörg": "j_rg",
		"a234567890123456789012345678901234567890123456789012345678901234567890": "a234567890123456789012345678901234567890123456789012345678901234",
	} {
		if got := AccountName(in); got != want || !validAccount(got) {
			t.Errorf("AccountName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUIDLists(t *testing.T) {
	for _, tc := range []struct {
		uids []uint32
		s    string
	}{
		{nil, ""}, {[]uint32{4}, "4"}, {[]uint32{1, 2, 3, 7, 9, 10}, "1:3,7,9:10"},
	} {
		if got := formatUIDs(tc.uids); got != tc.s {
			t.Errorf("formatUIDs(%v) = %q, want %q", tc.uids, got, tc.s)
		}
		back, err := parseUIDs(tc.s)
		if err != nil || !slices.Equal(back, tc.uids) {
			t.Errorf("parseUIDs(%q) = %v, %v", tc.s, back, err)
		}
		if got := uidSet(tc.uids).String(); tc.s != "" && got != tc.s {
			t.Errorf("uidSet(%v) = %q, want %q", tc.uids, got, tc.s)
		}
	}
	for _, bad := range []string{"x", "0", "3:1", "1:", ",", "1:4294967295"} {
		if _, err := parseUIDs(bad); err == nil {
			t.Errorf("parseUIDs(%q) accepted", bad)
		}
	}
}

// The checkpoint moves in UID order whatever order messages are resolved
// in, and the staged state says exactly that.
func TestCursorOrder(t *testing.T) {
	a := archive.TestArchive(t)
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &folder{name: "INBOX", source: "imap:test/u/INBOX", savedValidity: 7, savedLast: 10, savedFailed: []uint32{3}}
	c := newCursor(f, 7, []uint32{3, 11, 12, 13, 15}, 16, 10, []uint32{3})
	get := func(key string) string {
		v, _, err := w.State(ctx, f.source, key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	step := func(uid uint32, failed bool, last, failedList string) {
		t.Helper()
		c.resolve(uid, failed)
		if err := c.stage(ctx, w); err != nil {
			t.Fatal(err)
		}
		if got := get(keyLastUID); got != last {
			t.Errorf("after %d: lastuid %q, want %q", uid, got, last)
		}
		if got := get(keyFailed); got != failedList {
			t.Errorf("after %d: failed %q, want %q", uid, got, failedList)
		}
	}
	if err := c.stage(ctx, w); err != nil {
		t.Fatal(err)
	}
	step(12, false, "", "")   // nothing written yet: 3 and 11 are open
	step(3, true, "", "")     // still failing: unchanged, nothing to write
	step(11, false, "12", "") // 3 (failed, recorded) .. 12 resolved
	step(15, true, "12", "3,15")
	step(13, false, "16", "3,15") // all done: up to UIDNEXT-1
	if get(keyValidity) != "" {
		t.Error("an unchanged UIDVALIDITY was written again")
	}

	// A new UIDVALIDITY is written with the first state, even with no work.
	g := &folder{name: "Sent", source: "imap:test/u/Sent", savedValidity: 1, savedLast: 50}
	c = newCursor(g, 2, nil, 0, 0, nil)
	if err := c.stage(ctx, w); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{keyValidity: "2", keyLastUID: "0", keyFailed: ""} {
		v, ok, _ := w.State(ctx, g.source, key)
		if !ok || v != want {
			t.Errorf("after a reset: %s = %q (%v), want %q", key, v, ok, want)
		}
	}
	w.Abort()
}
