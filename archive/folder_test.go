package archive

import (
	"errors"
	"strings"
	"testing"
)

func TestFolderDir(t *testing.T) {
	for _, tc := range []struct{ name, dir string }{
		{"INBOX", ""},
		{"inbox", ""},
		{"Sent", ".Sent"},
		{"Archive/2019", ".Archive.2019"},
		{"收件箱", ".&ZTZO9nux-"},
		{"Reçus & Factures", ".Re&AOc-us &- Factures"},
		{"v1.2", `.v1\2e2`},
		{`back\slash`, `.back\5cslash`},
		{"a/..", `.a.\2e\2e`},
		{"INBOX/Sub", ".INBOX.Sub"},
	} {
		dir, err := FolderDir(tc.name)
		if err != nil {
			t.Errorf("FolderDir(%q): %v", tc.name, err)
			continue
		}
		if dir != tc.dir {
			t.Errorf("FolderDir(%q) = %q, want %q", tc.name, dir, tc.dir)
		}
		back, err := FolderFromDir(dir)
		if err != nil {
			t.Errorf("FolderFromDir(%q): %v", dir, err)
			continue
		}
		want, _ := CanonicalFolder(tc.name)
		if back != want {
			t.Errorf("round trip of %q gave %q", tc.name, back)
		}
		if strings.Contains(dir, "/") {
			t.Errorf("FolderDir(%q) = %q contains a path separator", tc.name, dir)
		}
	}
	for _, bad := range []string{"", "a//b", "/a", "a/", "a\x00b", "a\nb", "\xff"} {
		if _, err := FolderDir(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("FolderDir(%q): err = %v, want ErrBadName", bad, err)
		}
	}
}

func FuzzFolderDir(f *testing.F) {
	for _, s := range []string{"INBOX", "a/b", "收件箱", "a.b", `a\2eb`, "&", "a/../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		dir, err := FolderDir(name)
		if err != nil {
			return
		}
		if strings.ContainsAny(dir, "/\x00") || dir == "." || dir == ".." {
			t.Fatalf("FolderDir(%q) = %q escapes the account directory", name, dir)
		}
		back, err := FolderFromDir(dir)
		if err != nil {
			t.Fatalf("FolderFromDir(FolderDir(%q) = %q): %v", name, dir, err)
		}
		want, _ := CanonicalFolder(name)
		if back != want {
			t.Fatalf("round trip of %q gave %q", want, back)
		}
	})
}

func TestCheckAccount(t *testing.T) {
	for _, ok := range []string{"local", "work", "alice@example.org", "a-b_c.d+e"} {
		if err := checkAccount(ok); err != nil {
			t.Errorf("checkAccount(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", ".hidden", "-x", "a/b", "a b", "ü", strings.Repeat("a", 65)} {
		if err := checkAccount(bad); err == nil {
			t.Errorf("checkAccount(%q) accepted", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	got := NormalizeFlags([]string{`\seen`, `\Recent`, `$label1`, `\Flagged`, `\Seen`, ` `})
	want := []string{`$label1`, `\Flagged`, `\Seen`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("NormalizeFlags = %q, want %q", got, want)
	}
	if info := MaildirInfo(NormalizeFlags([]string{`\Seen`, `\Answered`, `\Draft`, `\Flagged`, `$Forwarded`, `\Deleted`, `kw`})); info != "DFPRST" {
		t.Errorf("MaildirInfo = %q, want DFPRST", info)
	}
	if got := FlagsFromInfo("FSa"); strings.Join(got, " ") != `\Flagged \Seen` {
		t.Errorf("FlagsFromInfo = %q", got)
	}
}
