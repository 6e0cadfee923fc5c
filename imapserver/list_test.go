package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailark/mailark/archive"
)

// uidValidity reads a folder's UIDVALIDITY from the catalog.
func uidValidity(t *testing.T, f *fixture, account, name string) uint32 {
	t.Helper()
	fs, err := f.arch.Folders(context.Background(), []string{account})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range fs {
		if x.Name == name {
			return x.UIDValidity
		}
	}
	t.Fatalf("no folder %s/%s", account, name)
	return 0
}

func TestListOneAccount(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	c.xuntagged(c.transactf("OK", `LIST "" *`),
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\Noselect \HasChildren) "/" "Archive"`,
		`* LIST (\HasNoChildren) "/" "Archive/2019"`,
		`* LIST (\HasNoChildren) "/" "Big"`,
		`* LIST (\HasNoChildren) "/" "Re&AOc-us"`,
		`* LIST (\HasNoChildren) "/" "Sent"`,
		`* LIST (\HasNoChildren) "/" "Tests"`)
	c.xuntagged(c.transactf("OK", `LIST "" %%`),
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\Noselect \HasChildren) "/" "Archive"`,
		`* LIST (\HasNoChildren) "/" "Big"`,
		`* LIST (\HasNoChildren) "/" "Re&AOc-us"`,
		`* LIST (\HasNoChildren) "/" "Sent"`,
		`* LIST (\HasNoChildren) "/" "Tests"`)
	c.xuntagged(c.transactf("OK", `LIST "" ""`), `* LIST (\Noselect) "/" ""`)
	c.xuntagged(c.transactf("OK", `LIST "Archive/" %%`), `* LIST (\HasNoChildren) "/" "Archive/2019"`)
	c.xuntagged(c.transactf("OK", `LIST "" inbox`), `* LIST (\HasNoChildren) "/" INBOX`)
	c.xuntagged(c.transactf("OK", `LIST "" Re&AOc-us`), `* LIST (\HasNoChildren) "/" "Re&AOc-us"`)
	c.xuntagged(c.transactf("OK", `LSUB "" S*`), `* LSUB (\HasNoChildren) "/" "Sent"`)

	v := uidValidity(t, f, "work", "Tests")
	c.xuntagged(c.transactf("OK", "STATUS Tests (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)"),
		fmt.Sprintf("* STATUS \"Tests\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY %d UNSEEN 1 DELETED 0 SIZE %d RECENT 0)", v, len(crlf(msgPlainLF))+len(msgMulti)))
	c.xuntagged(c.transactf("OK", "STATUS inbox (MESSAGES)"), fmt.Sprintf("* STATUS INBOX (MESSAGES %d)", len(f.msgs["work/INBOX"])))
	c.transactf("NO", "STATUS Archive (MESSAGES)")
	c.transactf("NO", "STATUS Nope (MESSAGES)")
}

func TestListSeveralAccounts(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	for _, user := range []string{"bob", "dave"} {
		c := dial(t, addr)
		c.login(user)
		c.xuntagged(c.transactf("OK", `LIST "" %%`),
			`* LIST (\Noselect \HasChildren) "/" "home"`,
			`* LIST (\Noselect \HasChildren) "/" "work"`)
		c.xuntagged(c.transactf("OK", `LIST "" home/*`),
			`* LIST (\HasNoChildren) "/" "home/INBOX"`,
			`* LIST (\Noselect \HasChildren) "/" "home/Private"`,
			`* LIST (\HasNoChildren) "/" "home/Private/Deep"`)
		v := uidValidity(t, f, "home", "INBOX")
		c.xuntagged(c.transactf("OK", "STATUS home/inbox (MESSAGES UIDVALIDITY)"), fmt.Sprintf(`* STATUS "home/INBOX" (MESSAGES 3 UIDVALIDITY %d)`, v))
		c.transactf("OK", "SELECT work/Tests")
		c.transactf("NO", "SELECT INBOX") // no account's INBOX is "the" INBOX
		c.transactf("NO", "SELECT work")
	}
}

// TestUIDValidityStable: a restarted server shows the same UIDVALIDITY
// and UIDs (they are the catalog's).
func TestUIDValidityStable(t *testing.T) {
	f := sharedFixture(t)
	var got []string
	for range 2 {
		srv, addr := startServer(t, testConfig(f))
		c := dial(t, addr)
		c.login("alice")
		u := c.transactf("OK", "STATUS INBOX (UIDVALIDITY UIDNEXT)")
		u = append(u, c.transactf("OK", "SELECT INBOX")...)
		u = append(u, c.transactf("OK", "UID SEARCH ALL")...)
		got = append(got, fmt.Sprint(u))
		srv.Shutdown(context.Background())
	}
	if got[0] != got[1] {
		t.Fatalf("after a restart:\n%s\n%s", got[0], got[1])
	}
	v := uidValidity(t, f, "work", archive.Inbox)
	if want := fmt.Sprintf("UIDVALIDITY %d", v); !strings.Contains(got[0], want) {
		t.Fatalf("want %s in %s", want, got[0])
	}
}
