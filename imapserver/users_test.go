package imapserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestUsersFile(t *testing.T) {
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for _, bad := range []string{
		"alice:" + string(h),                               // no accounts
		"al:ice:" + string(h) + ":work",                    // ':' in a name
		"alice:plaintext:work",                             // not a hash
		"alice:" + string(h) + ":work,*",                   // * stands alone
		"alice:" + string(h) + ":../x",                     // not an account name
		"bob:" + string(h) + ":a\nbob:" + string(h) + ":b", // twice
	} {
		if _, err := ParseUsers(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "users")
	users := []User{{Name: "alice", Hash: string(h), Accounts: []string{"work", "home"}}, {Name: "bob", Hash: string(h), Accounts: []string{AllAccounts}}}
	if err := WriteUsersFile(path, users); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	got, err := ReadUsersFile(path)
	if err != nil || len(got) != 2 || got[0].Accounts[1] != "home" || got[1].Accounts[0] != "*" {
		t.Fatalf("read back %v, %v", got, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if _, err := HashPassword(nil, bcrypt.MinCost); err == nil {
		t.Error("empty password hashed")
	}
}

// TestUsersReload: a running server sees users added to the file.
func TestUsersReload(t *testing.T) {
	f := sharedFixture(t)
	cfg := testConfig(f)
	cfg.UsersFile = filepath.Join(t.TempDir(), "users")
	_, addr := startServer(t, cfg)
	c := dial(t, addr)
	c.transactf("NO", "LOGIN erin %q", password)
	h, _ := HashPassword([]byte(password), bcrypt.MinCost)
	time.Sleep(10 * time.Millisecond) // a new mtime
	if err := WriteUsersFile(cfg.UsersFile, []User{{Name: "erin", Hash: h, Accounts: []string{"home"}}}); err != nil {
		t.Fatal(err)
	}
	c.login("erin")
	c.xuntagged(c.transactf("OK", `LIST "" %%`), `* LIST (\HasNoChildren) "/" INBOX`, `* LIST (\Noselect \HasChildren) "/" "Private"`)
}

func TestLoginDelaySchedule(t *testing.T) {
	th := newLoginThrottle(500*time.Millisecond, 8*time.Second)
	var got []time.Duration
	for range 6 {
		got = append(got, th.fail("ip:x", "user:y"))
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	if w := th.wait("ip:x"); w <= 7*time.Second {
		t.Errorf("next attempt may come after %v", w)
	}
	th.succeed("ip:x", "user:y")
	if w := th.wait("ip:x", "user:y"); w != 0 {
		t.Errorf("after a success: wait %v", w)
	}
}
