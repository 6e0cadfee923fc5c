package imapserver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/testcorpus"
)

func TestSearch(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	c.transactf("OK", "EXAMINE Tests")
	for _, tc := range []struct{ q, want string }{
		{"ALL", "1 2"},
		{"SEEN", "1"},
		{"UNSEEN", "2"},
		{"FLAGGED", "2"},
		{"KEYWORD $Label1", "1"},
		{"UNKEYWORD $Label1", "2"},
		{"NEW", ""},
		{"RECENT", ""},
		{"OLD", "1 2"},
		{"DELETED", ""},
		{"LARGER 200", "2"},
		{"SMALLER 200", "1"},
		{"ON 2-Jan-2020", "1"},
		{"SINCE 1-Jan-2021", "2"},
		{"BEFORE 1-Jan-2021", "1"},
		{"SENTON 2-Jan-2006", "1"},
		{"SENTSINCE 3-Jan-2006", "2"},
		{"SENTBEFORE 3-Jan-2006", "1"},
		{"SUBJECT multi", "2"},
		{"SUBJECT MULTI", "2"},
		{"FROM ann@example", "1"},
		{"FROM Carl", "2"},
		{"TO dora", "2"},
		{"CC x", ""},
		{"HEADER Message-ID <plain@", "1"},
		{"HEADER MIME-Version \"\"", "2"},
		{"TEXT quokka", "2"},
		{"BODY quokka", "2"},
		{"BODY multi", ""},  // a header word is not in the body
		{"TEXT multi", "2"}, // but is in the text
		{"TEXT \"hello quokka\"", "2"},
		{"TEXT \"quokka hello\"", ""},
		{"NOT TEXT quokka", "1"},
		{"OR SEEN FLAGGED", "1 2"},
		{"OR SEEN NOT FLAGGED", "1"},
		{"1", "1"},
		{"2:*", "2"},
		{"*", "2"},
		{"UID 1", "1"},
		{"UID 2:4", "2"},
		{"NOT UID 1", "2"},
		{"CHARSET UTF-8 SUBJECT plain", "1"},
		{"(SEEN SMALLER 1000) (OR FLAGGED SEEN)", "1"},
	} {
		c.xuntagged(c.transactf("OK", "SEARCH %s", tc.q), strings.TrimSpace("* SEARCH "+tc.want))
		c.xuntagged(c.transactf("OK", "UID SEARCH %s", tc.q), strings.TrimSpace("* SEARCH "+tc.want))
	}
	c.transactf("NO", "SEARCH CHARSET KOI8-R ALL")
	if c.command("SEARCH NOSUCHKEY"); strings.HasPrefix(c.last, "OK") {
		t.Fatalf("unknown key: %q", c.last) // go-imap says NO [SERVERBUG] here
	}
}

// TestSearchInbox checks criteria against the catalog on a folder of
// corpus mail.
func TestSearchInbox(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	c.transactf("OK", "EXAMINE INBOX")
	fs, _ := f.arch.Folders(context.Background(), []string{"work"})
	var inbox archive.Folder
	for _, x := range fs {
		if x.Name == archive.Inbox {
			inbox = x
		}
	}
	ents, err := f.arch.Entries(context.Background(), inbox, 0, 1<<31, 10000)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(pred func(e archive.Entry) bool) string {
		var uids []string
		for _, e := range ents {
			if pred(e) {
				uids = append(uids, fmt.Sprint(e.UID))
			}
		}
		return strings.TrimSpace("* SEARCH " + strings.Join(uids, " "))
	}
	c.xuntagged(c.transactf("OK", "UID SEARCH UNSEEN"), expect(func(e archive.Entry) bool { return !slices.Contains(e.Flags, `\Seen`) }))
	c.xuntagged(c.transactf("OK", "UID SEARCH LARGER 5000"), expect(func(e archive.Entry) bool { return e.CRLFSize > 5000 }))
	c.xuntagged(c.transactf("OK", "UID SEARCH SINCE 1-Jan-2015"), expect(func(e archive.Entry) bool { return e.InternalDate.Year() >= 2015 }))
	// TEXT and BODY are answered by the index, which decodes bodies
	// (base64, quoted-printable, charsets, HTML): every corpus body holds
	// its language's marker phrase.
	for _, code := range []string{"en", "de", "zh-hans", "ja"} {
		marker := testcorpus.Marker(code)
		want := expect(func(e archive.Entry) bool { return slices.Contains(f.tags[e.UID], "lang:"+code) })
		if want == "* SEARCH" {
			continue
		}
		got := c.transactf("OK", "UID SEARCH CHARSET UTF-8 BODY {%d}\r\n%s", len(marker), marker)
		got = slices.DeleteFunc(got, func(l string) bool { return strings.HasPrefix(l, "+") })
		// Every message of the language is found; a forward or reply may
		// quote one, so others may be found too, with the phrase in
		// their text.
		gotSet := strings.Fields(strings.TrimPrefix(got[0], "* SEARCH"))
		for _, uid := range strings.Fields(strings.TrimPrefix(want, "* SEARCH")) {
			if !slices.Contains(gotSet, uid) {
				t.Errorf("BODY %q misses uid %s", marker, uid)
			}
		}
		for _, uid := range gotSet {
			if !strings.Contains(want+" ", " "+uid+" ") {
				t.Logf("BODY %q also finds uid %s (tags %v)", marker, uid, f.tags[atou(uid)])
			}
		}
	}
}

func atou(s string) uint32 {
	var n uint32
	fmt.Sscan(s, &n)
	return n
}
