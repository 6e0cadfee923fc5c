package main

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/testcorpus"
)

// exportArchive builds an archive with msgs in account "work" and returns
// its directory.
func exportArchive(t *testing.T, msgs []*testcorpus.Message) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "archive")
	ctx := context.Background()
	if err := archive.Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, dir, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exportertest.Fill(t, a, "work", msgs)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// imapExportArgs are the arguments of export imap into the private
// Dovecot as carol.
func imapExportArgs(t *testing.T, d *dovecottest.Server) []string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(d.Password("carol")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(d.IMAPAddr, ":")
	return []string{"export", "imap", "--host", host, "--port", port, "--tls-ca", d.CAFile,
		"--user", "carol", "--password-file", pw}
}

// countMaildir counts the message files of a Dovecot user's Maildir++.
func countMaildir(root string) int {
	n := 0
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b := filepath.Base(filepath.Dir(p)); b == "cur" || b == "new" {
				n++
			}
		}
		return nil
	})
	return n
}

// targetIDs fetches every message from the server and counts each ID per
// mailbox.
func targetIDs(t *testing.T, addr, user, pass string) map[string]map[archive.ID]int {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[archive.ID]int{}
	for _, m := range list {
		if slices.Contains(m.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		sel, err := c.Select(m.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		out[m.Mailbox] = map[archive.ID]int{}
		if sel.NumMessages == 0 {
			continue
		}
		var all imap.SeqSet
		all.AddRange(1, 0)
		fc := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			for it := msg.Next(); it != nil; it = msg.Next() {
				if x, ok := it.(imapclient.FetchItemDataBodySection); ok {
					h := archive.NewHasher()
					io.Copy(h, x.Literal)
					out[m.Mailbox][h.Sum()]++
				}
			}
		}
		if err := fc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestExportIMAPKillResume runs the real binary against a private Dovecot,
// kills it with SIGKILL twice in the middle of appending, and resumes: at
// the end every message is on the target exactly once, in its folder. A
// last run appends nothing.
func TestExportIMAPKillResume(t *testing.T) {
	d := dovecottest.Start(t, dovecottest.Options{})
	msgs := exportertest.Corpus(t, 1500, 21, true)
	dir := exportArchive(t, msgs)
	refused := map[archive.ID]bool{} // IMAP cannot carry these unchanged
	for _, m := range msgs {
		if m.HasTag("odd:nul-byte") || m.HasTag("odd:cr-only") {
			refused[m.ID()] = true
		}
	}
	want := map[string]map[archive.ID]bool{}
	for _, m := range msgs {
		if refused[m.ID()] {
			continue
		}
		if want[m.Folder] == nil {
			want[m.Folder] = map[archive.ID]bool{}
		}
		want[m.Folder][m.ID()] = true
	}
	total := 0
	for _, ids := range want {
		total += len(ids)
	}
	args := append(imapExportArgs(t, d), "--window", "4")
	root := d.Maildir("carol")
	midway := 0
	for _, frac := range []float64{0.2, 0.6} {
		cmd := exec.Command(binary, append([]string{"--archive", dir}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for countMaildir(root) < int(frac*float64(total)) && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		n := countMaildir(root)
		t.Logf("killed at %d of %d messages on the target", n, total)
		if n > 0 && n < total {
			midway++
		}
	}
	if midway == 0 {
		t.Fatal("no kill landed in the middle of the export")
	}
	// An interrupt (SIGINT) is graceful: the answers to APPENDs in flight
	// are awaited and recorded, the run is logged as interrupted, exit 130.
	cmd := exec.Command(binary, append([]string{"--archive", dir, "--json"}, args...)...)
	var intOut strings.Builder
	cmd.Stdout = &intOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for countMaildir(root) < int(0.8*float64(total)) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != exitInterrupted {
		t.Errorf("interrupted export: %v, want exit 130", err)
	}
	var intRep exportReport
	if err := json.Unmarshal([]byte(intOut.String()), &intRep); err != nil {
		t.Fatalf("interrupted run's report: %v\n%s", err, intOut.String())
	}
	found := intRep.Total.Found.Messages
	r := runCLI(t, dir, append([]string{"--json"}, args...)...)
	if r.code != exitPartial {
		t.Fatalf("resumed export: exit %d, want 3 (the refused messages)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep exportReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed run: %d appended, %d already, %d found, %d failed", rep.Total.Done.Messages, rep.Total.Already.Messages, rep.Total.Found.Messages, rep.Total.Failed.Messages)
	// The killed runs left messages on the server whose receipts they had
	// not committed: the next runs must have found them, not appended them.
	if found += rep.Total.Found.Messages; found == 0 {
		t.Error("no message was found by reconciliation after the kills")
	}
	if rep.Total.Failed.Messages != int64(len(refused)) {
		t.Errorf("failed %d, want %d", rep.Total.Failed.Messages, len(refused))
	}

	got := targetIDs(t, d.IMAPAddr, "carol", d.Password("carol"))
	for folder, ids := range want {
		for id := range ids {
			if n := got[folder][id]; n != 1 {
				t.Errorf("%s: %s is there %d times, want 1", folder, id.Short(), n)
			}
		}
		for id, n := range got[folder] {
			if !ids[id] {
				t.Errorf("%s: unexpected message %s (%d times)", folder, id.Short(), n)
			}
		}
	}

	// Nothing left to do: a rerun appends nothing, and verify finds all.
	r = runCLI(t, dir, append([]string{"--json"}, append(args, "--verify")...)...)
	var rep2 exportReport
	if err := json.Unmarshal([]byte(r.stdout), &rep2); err != nil {
		t.Fatalf("%v\n%s", err, r.stderr)
	}
	if rep2.Total.Done.Messages != 0 || rep2.Total.Found.Messages != 0 || rep2.Total.Verify == nil || rep2.Total.Verify.Present != int64(total) {
		t.Errorf("rerun: %+v verify %+v; want nothing appended and %d verified", rep2.Total, rep2.Total.Verify, total)
	}

	// The audit log has every run: two killed ones still "running" (their
	// record of never finishing), the interrupted one, and the others.
	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rows, err := a.DB().Query(`SELECT status FROM runs WHERE command = 'export imap' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for rows.Next() {
		var st string
		rows.Scan(&st)
		statuses = append(statuses, st)
	}
	rows.Close()
	if want := []string{"running", "running", "interrupted", "partial", "partial"}; !slices.Equal(statuses, want) {
		t.Errorf("audit log statuses %v, want %v", statuses, want)
	}
}
