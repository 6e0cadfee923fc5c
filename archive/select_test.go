package archive

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// selectArchive holds two accounts: work with INBOX, Sent, Archive,
// Archive/2019 and Archive/2019/Q1, home with INBOX; one message is in
// both INBOXes and in Sent.
func selectArchive(t *testing.T) (*Archive, map[string]ID) {
	t.Helper()
	a := TestArchive(t)
	w := newWriter(t, a)
	ids := map[string]ID{}
	put := func(acct, folder, key string, flags ...string) {
		raw := msg("subject "+key, key+"@example.org", "body of "+key)
		res := deliver(t, w, raw, Meta{Account: acct, Folder: folder, Flags: flags, InternalDate: time.Unix(1600000000, 0)})
		ids[key] = res.ID
	}
	put("work", "Sent", "s1", `\Seen`)
	put("work", "INBOX", "i1", `\Seen`, "$Label1")
	put("work", "INBOX", "i2")
	put("work", "Archive/2019", "a1")
	put("work", "Archive", "a0")
	put("work", "Archive/2019/Q1", "q1")
	put("home", "INBOX", "h1")
	put("home", "INBOX", "i1")
	put("work", "Sent", "i1")
	commit(t, w)
	return a, ids
}

func keysOf(t *testing.T, sel *Selection, ids map[string]ID) []string {
	t.Helper()
	byID := map[ID]string{}
	for k, id := range ids {
		byID[id] = k
	}
	var out []string
	err := sel.Each(context.Background(), func(e *SelectedEntry) error {
		out = append(out, fmt.Sprintf("%s/%s:%s", e.Account, e.Folder, byID[e.ID]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSelectOrderAndFilters(t *testing.T) {
	a, ids := selectArchive(t)
	ctx := context.Background()
	for _, c := range []struct {
		opts SelectOptions
		want []string
	}{
		{SelectOptions{}, []string{"home/INBOX:h1", "home/INBOX:i1",
			"work/INBOX:i1", "work/INBOX:i2", "work/Archive:a0", "work/Archive/2019:a1", "work/Archive/2019/Q1:q1", "work/Sent:s1", "work/Sent:i1"}},
		{SelectOptions{Accounts: []string{"home"}}, []string{"home/INBOX:h1", "home/INBOX:i1"}},
		{SelectOptions{Folders: []string{"Archive/*"}}, []string{"work/Archive/2019:a1", "work/Archive/2019/Q1:q1"}},
		{SelectOptions{Folders: []string{"inbox", "Sent"}, Accounts: []string{"work"}}, []string{"work/INBOX:i1", "work/INBOX:i2", "work/Sent:s1", "work/Sent:i1"}},
		{SelectOptions{Only: IDSet{ids["i1"]: {}}}, []string{"home/INBOX:i1", "work/INBOX:i1", "work/Sent:i1"}},
		{SelectOptions{Only: IDSet{}}, nil},
		{SelectOptions{Folders: []string{"Nothing"}}, nil},
	} {
		sel, err := a.Select(ctx, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := keysOf(t, sel, ids); !slices.Equal(got, c.want) {
			t.Errorf("%+v:\n got %v\nwant %v", c.opts, got, c.want)
		}
		n, _, _ := sel.Totals()
		if n != int64(len(c.want)) {
			t.Errorf("%+v: Totals says %d entries, Each gave %d", c.opts, n, len(c.want))
		}
	}
	if _, err := a.Select(ctx, SelectOptions{Folders: []string{"["}}); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

func TestSelectEntryFields(t *testing.T) {
	a, ids := selectArchive(t)
	sel, err := a.Select(context.Background(), SelectOptions{Accounts: []string{"work"}, Folders: []string{"INBOX"}})
	if err != nil {
		t.Fatal(err)
	}
	var es []*SelectedEntry
	sel.Each(context.Background(), func(e *SelectedEntry) error { es = append(es, e); return nil })
	e := es[0]
	if e.ID != ids["i1"] || !slices.Equal(e.Flags, []string{"$Label1", `\Seen`}) || e.MessageID != "i1@example.org" ||
		!e.InternalDate.Equal(time.Unix(1600000000, 0)) || e.UID != 1 || e.Size != e.CRLFSize || e.From != "Alice <alice@example.org>" {
		t.Errorf("entry %+v", e)
	}
	// Path is this copy's own file.
	_, id, info, err := ParseFileName(e.Path[len(e.Path)-len(fileName(e.InternalDate, e.ID, e.Flags)):])
	if err != nil || id != e.ID || info != "S" {
		t.Errorf("path %s: %v %s %q", e.Path, err, id.Short(), info)
	}
}

// TestSelectPaging: Each pages through the catalog, filtered pages
// included, without losing or repeating an entry; entries added after
// Select are not seen; ErrStop ends early.
func TestSelectPaging(t *testing.T) {
	old := selectPage
	selectPage = 3
	t.Cleanup(func() { selectPage = old })
	a := TestArchive(t)
	w := newWriter(t, a)
	only := IDSet{}
	for i := range 20 {
		res := deliver(t, w, msg(fmt.Sprint(i), fmt.Sprintf("m%d@x", i), "b"), Meta{Account: "a"})
		if i%4 == 0 {
			only[res.ID] = struct{}{}
		}
	}
	commit(t, w)
	ctx := context.Background()
	sel, err := a.Select(ctx, SelectOptions{Only: only})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, w, msg("late", "late@x", "b"), Meta{Account: "a"})
	commit(t, w)
	var uids []uint32
	sel.Each(ctx, func(e *SelectedEntry) error { uids = append(uids, e.UID); return nil })
	if !slices.Equal(uids, []uint32{1, 5, 9, 13, 17}) {
		t.Errorf("uids %v", uids)
	}
	all, _ := a.Select(ctx, SelectOptions{})
	n := 0
	all.Each(ctx, func(e *SelectedEntry) error {
		n++
		if n == 7 {
			return ErrStop
		}
		return nil
	})
	if n != 7 {
		t.Errorf("ErrStop: %d entries seen", n)
	}
}

func TestMatchFolder(t *testing.T) {
	for _, c := range []struct {
		pat, name string
		ok        bool
	}{
		{"INBOX", "INBOX", true}, {"inbox", "INBOX", true}, {"Inbox/x", "INBOX/x", true},
		{"Archive/*", "Archive/2019", true}, {"Archive/*", "Archive/2019/Q1", true}, {"Archive/*", "Archive", false},
		{"Arch*", "Archive/2019", true}, {"*", "a/b/c", true}, {"Sent", "Sent Items", false}, {"?ent", "Sent", true},
		// The IMAP importer's --folder/--exclude use it too.
		{"Inbox/*", "INBOX/Sub", true}, {"*", "Lists/golang-nuts", true}, {"Lists/golang-?uts", "Lists/golang-nuts", true},
		{"Reçus & Factures", "Reçus & Factures", true}, {"收件箱", "收件箱", true}, {"[A-C]*", "Drafts", false},
		{`Spam\*`, "Spam*", true},
	} {
		if ok, err := MatchFolder(c.pat, c.name); err != nil || ok != c.ok {
			t.Errorf("MatchFolder(%q, %q) = %v, %v; want %v", c.pat, c.name, ok, err, c.ok)
		}
	}
	if _, err := MatchFolder("[", "x"); err == nil {
		t.Error("bad pattern accepted")
	}
}

// TestSummaries: a summary lists every folder of a message (sorted), its
// Date header, else its earliest internal date; unknown IDs are absent.
// Enough IDs to need more than one query.
func TestSummaries(t *testing.T) {
	a, ids := selectArchive(t)
	ctx := context.Background()
	w := newWriter(t, a)
	noDate := []byte("From: Carol <carol@example.org>\r\nSubject: undated\r\nMessage-ID: <nd@example.org>\r\n\r\nno date\r\n")
	nd := deliver(t, w, noDate, Meta{Account: "work", Folder: "INBOX", InternalDate: time.Unix(1700000000, 0)}).ID
	deliver(t, w, noDate, Meta{Account: "home", Folder: "Later", InternalDate: time.Unix(1600000500, 0)})
	deliver(t, w, noDate, Meta{Account: "home", Folder: "Latest", InternalDate: time.Unix(1800000000, 0)})
	commit(t, w)

	query := []ID{ids["i1"], nd, ids["q1"]}
	for i := 0; i < summaryChunk+10; i++ { // unknown IDs, to cross a chunk boundary
		var id ID
		id[0], id[1], id[31] = byte(i), byte(i>>8), 0xee
		query = append(query, id)
	}
	query = append(query, ids["h1"])
	got, err := a.Summaries(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d summaries, want 4", len(got))
	}
	check := func(key string, id ID, subject string, date time.Time, folders ...string) {
		t.Helper()
		s := got[id]
		if s == nil {
			t.Fatalf("%s: no summary", key)
		}
		if s.ID != id || s.Subject != subject || !s.Date.Equal(date) || !slices.Equal(s.Folders, folders) || s.Size <= 0 {
			t.Errorf("%s: %+v, want subject %q, date %v, folders %v", key, s, subject, date, folders)
		}
	}
	header := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	check("i1", ids["i1"], "subject i1", header, "home/INBOX", "work/INBOX", "work/Sent")
	check("q1", ids["q1"], "subject q1", header, "work/Archive/2019/Q1")
	check("h1", ids["h1"], "subject h1", header, "home/INBOX")
	check("undated", nd, "undated", time.Unix(1600000500, 0), "home/Later", "home/Latest", "work/INBOX")
	if got[nd].From != "Carol <carol@example.org>" && got[nd].From != "carol@example.org" {
		t.Errorf("undated: from %q", got[nd].From)
	}
}
