package imapserver

import (
	"strings"
	"testing"
)

// TestIsolation: a user mapped to one account sees nothing of another,
// however the name is spelled.
func TestIsolation(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice") // work only
	for _, pat := range []string{"*", "%", "home*", "*Private*", "../*", "*/../*"} {
		for _, l := range c.transactf("OK", `LIST "" %q`, pat) {
			if strings.Contains(l, "home") || strings.Contains(l, "Private") || strings.Contains(l, "..") {
				t.Errorf("LIST %q shows %s", pat, l)
			}
		}
	}
	for _, ref := range []string{"home/", "../home/", ".."} {
		c.xuntagged(c.transactf("OK", `LIST %q *`, ref))
	}
	guesses := []string{
		"home/INBOX", "home", "Private", "Private/Deep", "HOME/INBOX", "../home/INBOX", "..", "../home",
		"INBOX/../../home/INBOX", "./../home/INBOX", "/home/INBOX", "//home/INBOX", "home/INBOX/",
		"&AC4ALg-/home/INBOX", // modified UTF-7 for "../home/INBOX"
		"&AC4ALgAv-home",      // "../home" in one encoded run
		"Ｐrivate/Deep",        // fullwidth P
		"Private\u200b/Deep",  // zero-width space
		"home\u2215INBOX",     // division slash
		"work/../home/INBOX", "maildir/home", "../../maildir/home/cur",
	}
	for _, name := range guesses {
		c.transactf("NO", "STATUS %s (MESSAGES)", quote(name))
		c.transactf("NO", "SELECT %s", quote(name))
		c.transactf("NO", "EXAMINE %s", quote(name))
	}
	// The other account's words are not found by search either.
	c.transactf("OK", "SELECT INBOX")
	c.xuntagged(c.transactf("OK", "SEARCH TEXT wombat"), "* SEARCH")
	c.xuntagged(c.transactf("OK", "SEARCH BODY secret"), "* SEARCH")

	// carol (home only) cannot reach work by its prefix.
	c = dial(t, addr)
	c.login("carol")
	for _, name := range []string{"work/INBOX", "work/Tests", "Tests", "../work/INBOX", "INBOX/../work/Tests"} {
		c.transactf("NO", "SELECT %s", quote(name))
	}
	c.xuntagged(c.transactf("OK", `LIST "" *`),
		`* LIST (\HasNoChildren) "/" INBOX`,
		`* LIST (\Noselect \HasChildren) "/" "Private"`,
		`* LIST (\HasNoChildren) "/" "Private/Deep"`)
	// bob sees both, but only by their names.
	c = dial(t, addr)
	c.login("bob")
	for _, name := range []string{"work/../home/INBOX", "work/home/INBOX", "home/../work/Tests"} {
		c.transactf("NO", "SELECT %s", quote(name))
	}
}

// quote makes an IMAP string: a literal-free quoted string for ASCII,
// a literal for anything else.
func quote(s string) string {
	for _, r := range s {
		if r >= 0x80 {
			return "{" + itoa(len(s)) + "+}\r\n" + s
		}
	}
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
