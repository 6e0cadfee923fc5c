package config

import (
	"errors"
	"strings"
	"testing"
)

const full = `
[sync]
parallel = 3

[[account]]
name = "work"
kind = "imap"
host = "imap.example.org"
port = 993
tls = "tls"
user = "me@example.org"
password_cmd = "pass show work"
folders = ["*"]
exclude = ["Trash"]
connections = 4

[[account]]
name = "old"
kind = "pop3"
host = "pop.example.net"
user = "me"
password_env = "OLD_PW"
delete = true

[[target]]
name = "new"
kind = "imap"
host = "imap.new.example"
user = "me"
password_file = "/run/pw"
prefix = "Archive"
folder_map = ["Sent=Sent Items"]

[[target]]
name = "relay"
kind = "smtp"
host = "smtp.example.org"
from = "archive@example.org"
to = ["me@example.org"]
rate = 5
`

func TestParseFull(t *testing.T) {
	c, err := Parse("mailark.toml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Accounts) != 2 || len(c.Targets) != 2 || c.Sync.Parallel != 3 {
		t.Fatalf("%+v", c)
	}
	w, ok := c.Account("work")
	if !ok || w.Kind != "imap" || w.Port != 993 || w.TLS != "tls" || w.PasswordCmd != "pass show work" || w.Connections != 4 || w.Exclude[0] != "Trash" || w.Line() != 5 {
		t.Errorf("work: %+v (line %d)", w, w.Line())
	}
	o, _ := c.Account("old")
	if !o.Delete || o.PasswordEnv != "OLD_PW" || o.Line() != 17 {
		t.Errorf("old: %+v (line %d)", o, o.Line())
	}
	r, _ := c.Target("relay")
	if r.From != "archive@example.org" || r.To[0] != "me@example.org" || r.Rate != 5 {
		t.Errorf("relay: %+v", r)
	}
}

func TestExampleParses(t *testing.T) {
	c, err := Parse("mailark.toml", []byte(Example))
	if err != nil || len(c.Accounts) != 0 {
		t.Fatalf("the commented example: %v %+v", err, c)
	}
	// Uncommented, it is a valid config too.
	var b strings.Builder
	for _, l := range strings.Split(Example, "\n") {
		if strings.HasPrefix(l, "# ") && (strings.Contains(l, "=") || strings.Contains(l, "[")) && !strings.HasPrefix(l, "# mailark.toml") && !strings.Contains(l, "Command-line") {
			l = strings.TrimPrefix(l, "# ")
		}
		b.WriteString(l + "\n")
	}
	c, err = Parse("mailark.toml", []byte(b.String()))
	if err != nil || len(c.Accounts) != 2 || len(c.Targets) != 1 {
		t.Fatalf("the uncommented example: %v\n%s", err, b.String())
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		msg        string
	}{
		{"unknown key", "[[account]]\nname = \"a\"\nkind = \"imap\"\nhost = \"h\"\nhots = \"x\"\n", 5, `unknown key "account.hots"`},
		{"bad kind", "[[account]]\nname = \"a\"\nkind = \"imapx\"\nhost = \"h\"\n", 3, `kind "imapx"`},
		{"missing host", "\n[[account]]\nname = \"a\"\nkind = \"pop3\"\n", 2, "host is missing"},
		{"bad tls", "[[account]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"h\"\ntls = \"ssl\"\n", 5, `tls "ssl"`},
		{"two passwords", "[[account]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"h\"\npassword_env = \"X\"\npassword_cmd = \"y\"\n", 6, "only one of"},
		{"duplicate", "[[account]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"h\"\n[[account]]\nname = \"a\"\nkind = \"pop3\"\nhost = \"h\"\n", 6, "defined twice"},
		{"bad name", "[[account]]\nname = \"../x\"\nkind = \"pop3\"\nhost = \"h\"\n", 2, "account name"},
		{"delete on imap", "[[account]]\nname = \"a\"\nkind = \"imap\"\nhost = \"h\"\ndelete = true\n", 5, "delete is for POP3"},
		{"wrong type", "[[account]]\nname = \"a\"\nkind = \"imap\"\nhost = \"h\"\nport = \"x\"\n", 5, ""},
		{"smtp without to", "[[target]]\nname = \"t\"\nkind = \"smtp\"\nhost = \"h\"\nfrom = \"a@b\"\n", 1, "needs from and to"},
		{"bad folder map", "[[target]]\nname = \"t\"\nkind = \"imap\"\nhost = \"h\"\nfolder_map = [\"x\"]\n", 5, "want SRC=DST"},
		{"syntax", "[[account]\n", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("m.toml", []byte(tc.text))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if ce.Line != tc.line || !strings.Contains(ce.Msg, tc.msg) || !strings.HasPrefix(err.Error(), "m.toml:") {
				t.Errorf("err = %q (line %d), want line %d and %q", err, ce.Line, tc.line, tc.msg)
			}
		})
	}
}

func TestMissingFileIsEmpty(t *testing.T) {
	c, err := Load(t.TempDir() + "/none.toml")
	if err != nil || len(c.Accounts) != 0 {
		t.Fatalf("%v %+v", err, c)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte(Example))
	f.Add([]byte("[[account]]\nname=1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse("f.toml", b)
		if err == nil && c == nil {
			t.Fatal("nil config without an error")
		}
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}
