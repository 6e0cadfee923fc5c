package imapserver

import (
	"fmt"
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	v := uidValidity(t, f, "work", "Tests")
	want := []string{
		"* 2 EXISTS",
		"* 0 RECENT",
		"* OK [UNSEEN 2] First unseen message",
		fmt.Sprintf("* OK [UIDVALIDITY %d] UIDs valid", v),
		"* OK [UIDNEXT 3] Predicted next UID",
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1)`,
		"* OK [PERMANENTFLAGS ()] Permanent flags",
	}
	// SELECT answers [READ-ONLY] as EXAMINE does; lower case, and the
	// name as a literal, too.
	for _, cmd := range []string{"SELECT Tests", "EXAMINE Tests", "select Tests", "SELECT {5}\r\nTests"} {
		u := c.command("%s", cmd)
		if c.last != "OK [READ-ONLY] EXAMINE completed" {
			t.Fatalf("%s: %q", cmd, c.last)
		}
		if u[0] == "+ Ready for literal data" {
			u = u[1:]
		}
		if u[0] == "* OK [CLOSED] Previous mailbox is now closed" {
			u = u[1:]
		}
		c.xuntagged(u, want...)
	}
	c.transactf("NO", "SELECT tests") // only INBOX is case-insensitive
	c.transactf("NO", "SELECT Nope")
	if c.last != "NO [NONEXISTENT] No such mailbox" {
		t.Fatalf("select nope: %q", c.last)
	}
	c.transactf("BAD", "FETCH 1 FLAGS") // the failed SELECT closed the mailbox
	c.transactf("NO", "SELECT Archive")
	if c.last != "NO [CANNOT] This mailbox only holds other mailboxes" {
		t.Fatalf("select archive: %q", c.last)
	}
	c.transactf("OK", "SELECT Archive/2019")
	c.transactf("OK", "UNSELECT")
	c.transactf("BAD", "FETCH 1 FLAGS")
	c.transactf("OK", "EXAMINE Tests")
	c.transactf("OK", "CLOSE")
	c.transactf("BAD", "FETCH 1 FLAGS")
	c.transactf("OK", "SELECT INBOX")
	c.xuntagged(c.transactf("OK", "SELECT Tests")[:1], "* OK [CLOSED] Previous mailbox is now closed")
}

// TestSelectRewrite: only a SELECT command is read as EXAMINE, not a
// SELECT without arguments or a word in the next line.
func TestSelectRewrite(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	c.write("s1 SELECT\r\ns2 NOOP x\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "s1 BAD ") {
		t.Fatalf("select without a mailbox: %q", l)
	}
	if l := c.readLine(); !strings.HasPrefix(l, "s2 BAD ") {
		t.Fatalf("next line: %q", l)
	}
	c.write("s3 LIST \"\" \"SELECT Tests\"\r\n")
	if l := c.readLine(); l != "s3 OK LIST completed" {
		t.Fatalf("list: %q", l)
	}
}
