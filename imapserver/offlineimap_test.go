package imapserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailark/mailark/archive"
)

// TestOfflineIMAP syncs the archive with OfflineIMAP (a read-only remote)
// twice and checks that it reported no error and fetched every message.
func TestOfflineIMAP(t *testing.T) {
	bin := requireTool(t, "offlineimap")
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	host, port := hostPort(t, addr)
	dir := t.TempDir()
	local := filepath.Join(dir, "mail")
	conf := fmt.Sprintf(`[general]
accounts = archive
metadata = %s
ui = quiet

[Account archive]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s

[Repository remote]
type = IMAP
remotehost = %s
remoteport = %s
remoteuser = alice
remotepass = %s
ssl = no
starttls = no
readonly = True
`, filepath.Join(dir, "meta"), local, host, port, password)
	cf := filepath.Join(dir, "offlineimaprc")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for run := range 2 { // the second run finds nothing new
		cmd := exec.Command(bin, "-c", cf, "-o", "-u", "quiet")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Contains(strings.ToLower(string(out)), "error") {
			t.Fatalf("offlineimap run %d: %v\n%s", run+1, err, out)
		}
	}
	want := map[string]int{}
	total := 0
	for key, msgs := range f.msgs {
		if _, ok := strings.CutPrefix(key, "work/"); !ok {
			continue
		}
		for _, raw := range msgs {
			want[archive.Sum(raw).String()]++
			total++
		}
	}
	got, changed := 0, 0
	err := filepath.Walk(local, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.Contains(p, "/cur/") && !strings.Contains(p, "/new/") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if want[archive.Sum(b).String()] == 0 {
			// OfflineIMAP rewrites some messages as it saves them (line
			// endings, header folding); it is the sync that must work.
			changed++
		}
		got++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != total {
		t.Errorf("offlineimap fetched %d messages, want %d", got, total)
	}
	t.Logf("offlineimap: %d messages in %d folders, %d saved with other bytes than served", got, len(f.msgs), changed)
}
