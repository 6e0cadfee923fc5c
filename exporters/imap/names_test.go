package imap

import (
	"errors"
	"testing"

	"github.com/mailark/mailark/archive"
)

func TestNamer(t *testing.T) {
	maps := []Mapping{{"Sent", "Sent Items"}, {"Archive/2019", "Old/2019"}}
	for _, c := range []struct {
		n             Namer
		acct, folder  string
		want          string
		errorExpected bool
	}{
		{Namer{Delim: '/'}, "a", "INBOX", "INBOX", false},
		{Namer{Delim: '/'}, "a", "Archive/2019", "Archive/2019", false},
		{Namer{Delim: '.'}, "a", "Archive/2019", "Archive.2019", false},
		{Namer{Delim: '.'}, "a", "v1.2", "", true},
		{Namer{Delim: '.'}, "a", "a\u2215b/c", "a/b.c", false}, // the importer's '/' inside a name comes back
		{Namer{Delim: '/'}, "a", "a\u2215b/c", "a\u2215b/c", false},
		{Namer{Delim: 0}, "a", "Archive/2019", "", true},
		{Namer{Delim: 0}, "a", "Archive", "Archive", false},
		{Namer{Delim: '.', NSPrefix: "INBOX."}, "a", "Archive/2019", "INBOX.Archive.2019", false},
		{Namer{Delim: '.', NSPrefix: "INBOX."}, "a", "INBOX", "INBOX", false},
		{Namer{Delim: '.', NSPrefix: "INBOX."}, "a", "INBOX/x", "INBOX.x", false},
		{Namer{Delim: '/', Prefix: "Imported"}, "a", "INBOX", "Imported/INBOX", false},
		{Namer{Delim: '.', Prefix: "Old/%a"}, "work", "Sent", "Old.work.Sent", false},
		{Namer{Delim: '/', Prefix: "P", FolderMap: maps}, "a", "Sent", "Sent Items", false},
		{Namer{Delim: '/', Prefix: "P", FolderMap: maps}, "a", "Sent/2020", "Sent Items/2020", false},
		{Namer{Delim: '/', Prefix: "P", FolderMap: maps}, "a", "Sent Old", "P/Sent Old", false},
		{Namer{Delim: '.', FolderMap: maps}, "a", "Archive/2019/Q1", "Old.2019.Q1", false},
		{Namer{Delim: '/'}, "a", "收件箱/Reçus & Factures", "收件箱/Reçus & Factures", false},
	} {
		got, err := c.n.Mailbox(c.acct, c.folder)
		if c.errorExpected {
			if !errors.Is(err, ErrName) {
				t.Errorf("%+v %s/%s: %q, %v; want ErrName", c.n, c.acct, c.folder, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%+v %s/%s: %q, %v; want %q", c.n, c.acct, c.folder, got, err, c.want)
		}
	}
}

func TestParseMapping(t *testing.T) {
	m, err := ParseMapping("Sent=Sent Items/")
	if err != nil || m != (Mapping{"Sent", "Sent Items"}) {
		t.Errorf("%+v %v", m, err)
	}
	for _, bad := range []string{"Sent", "=x", "x=", "a//b=c"} {
		if _, err := ParseMapping(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestHeaderMessageID(t *testing.T) {
	for in, want := range map[string]string{
		"Message-ID: <a@b>\r\n\r\n":              "a@b",
		"message-id:\r\n <folded@x>\r\n\r\n":     "folded@x",
		"Message-Id: <x@y> (comment)\r\n":        "x@y",
		"Message-ID: <1@a>\r\nMessage-ID: <2@a>": "1@a",
		"\r\n":                                   "",
		"Message-ID: no-brackets\r\n":            "no-brackets",
	} {
		if got := archive.HeaderMessageID([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestValidFlag(t *testing.T) {
	for f, ok := range map[string]bool{`\Seen`: true, "$Label1": true, "Junk": true, `\Recent`: false, "": false,
		"a b": false, "a(b": false, `a\b`: false, "ä": false, `\`: false, "a]": false} {
		if validFlag(f) != ok {
			t.Errorf("validFlag(%q) = %v", f, !ok)
		}
	}
}
