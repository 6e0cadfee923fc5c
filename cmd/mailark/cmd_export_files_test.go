package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/testcorpus"
)

// idsByFolder reads an archive's entries: folder -> sorted IDs, for one
// account.
func idsByFolder(t *testing.T, dir, account string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	a, err := archive.Open(ctx, dir, archive.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sel, err := a.Select(ctx, archive.SelectOptions{Accounts: []string{account}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	sel.Each(ctx, func(e *archive.SelectedEntry) error {
		out[e.Folder] = append(out[e.Folder], e.ID.String())
		return nil
	})
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// sha256sumCheck runs the real sha256sum -c on a manifest in dir.
func sha256sumCheck(t *testing.T, dir, manifest string) {
	t.Helper()
	cmd := exec.Command("sha256sum", "--strict", "-c", manifest)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c %s: %v\n%s", manifest, err, out)
	}
	if n := bytes.Count(out, []byte(": OK\n")); n == 0 {
		t.Fatalf("sha256sum -c %s checked nothing:\n%s", manifest, out)
	}
}

// TestExportMboxRoundTrip: import mbox, export mbox, import the export:
// the same IDs; sha256sum -c accepts the manifest, which covers the mbox
// and its index; the index has one line per entry.
func TestExportMboxRoundTrip(t *testing.T) {
	msgs := corpus(t, 150, 5)
	var keep []*testcorpus.Message // an mbox adds a final newline: another ID
	for _, m := range msgs {
		if bytes.HasSuffix(m.Raw, []byte("\n")) {
			keep = append(keep, m)
		}
	}
	src := filepath.Join(t.TempDir(), "in.mbox")
	writeMbox(t, src, keep)
	dir := filepath.Join(t.TempDir(), "archive")
	mustRun(t, dir, "import", "mbox", src, "--account", "one")

	outDir := t.TempDir()
	out := filepath.Join(outDir, "out.mbox")
	r := mustRun(t, dir, "--json", "export", "mbox", out)
	var rep exportReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "ok" || rep.Total.Failed.Messages != 0 || rep.Total.Done.Messages == 0 {
		t.Fatalf("export: %+v", rep)
	}
	sha256sumCheck(t, outDir, "out.mbox.sha256")
	idx, err := os.ReadFile(out + ".messages.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(idx, []byte("\n")) - 1; n != int(rep.Total.Selected.Messages) {
		t.Errorf("index has %d lines, %d entries were selected", n, rep.Total.Selected.Messages)
	}
	// Exporting again needs --force; nothing is left behind.
	if r := runCLI(t, dir, "export", "mbox", out); r.code != exitFailure || !strings.Contains(r.stderr, "--force") {
		t.Errorf("export over an existing file: exit %d, %s", r.code, r.stderr)
	}
	mustRun(t, dir, "export", "mbox", out, "--force")
	sha256sumCheck(t, outDir, "out.mbox.sha256")
	if m, _ := filepath.Glob(filepath.Join(outDir, "*.tmp-mailark")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	// Importing the export gives the same messages.
	mustRun(t, dir, "import", "mbox", out, "--account", "two")
	one, two := idsByFolder(t, dir, "one"), idsByFolder(t, dir, "two")
	if !slices.Equal(one["INBOX"], two["INBOX"]) {
		t.Errorf("round trip: %d IDs in, %d out, or they differ", len(one["INBOX"]), len(two["INBOX"]))
	}
}

// TestExportEMLRoundTrip: export eml, import eml: the same IDs in the same
// folders (non-ASCII names included); sha256sum -c accepts the manifest;
// a damaged archive file fails that message only (exit 3).
func TestExportEMLRoundTrip(t *testing.T) {
	msgs := exportertest.Corpus(t, 120, 8, true)
	dir := exportArchive(t, msgs)
	out := filepath.Join(t.TempDir(), "eml")
	mustRun(t, dir, "export", "eml", out)
	sha256sumCheck(t, out, "MANIFEST.sha256")
	mustRun(t, dir, "import", "eml", out, "--account", "back")
	work, back := idsByFolder(t, dir, "work"), idsByFolder(t, dir, "back")
	if len(work) < 5 {
		t.Fatalf("only %d folders", len(work))
	}
	for f, ids := range work {
		if !slices.Equal(ids, back[f]) {
			t.Errorf("%s: %d IDs exported, %d imported back, or they differ", f, len(ids), len(back[f]))
		}
	}
	for f := range back {
		if work[f] == nil {
			t.Errorf("folder %q appeared", f)
		}
	}

	// A file's mtime is its internal date.
	var one string
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".eml") && one == "" {
			one = p
		}
		return nil
	})
	fi, err := os.Stat(one)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.ModTime().UTC().Format("20060102T150405Z"); !strings.HasPrefix(filepath.Base(one), got) {
		t.Errorf("%s has mtime %s", filepath.Base(one), got)
	}

	// Damage one archived file: that message fails, the rest is written.
	var victim string
	filepath.WalkDir(filepath.Join(dir, "maildir", "work", "cur"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && victim == "" {
			victim = p
		}
		return nil
	})
	b, _ := os.ReadFile(victim)
	b[len(b)/2] ^= 0x20
	os.Chmod(victim, 0o600)
	if err := os.WriteFile(victim, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "eml2")
	r := runCLI(t, dir, "--json", "export", "eml", out2, "--account", "work", "--folder", "INBOX")
	if r.code != exitPartial {
		t.Fatalf("export with a damaged file: exit %d\n%s", r.code, r.stderr)
	}
	var rep exportReport
	json.Unmarshal([]byte(r.stdout), &rep)
	if rep.Total.Failed.Messages != 1 || !strings.Contains(rep.Problems[0].Error, "damaged") {
		t.Errorf("report %+v", rep)
	}
	sha256sumCheck(t, out2, "MANIFEST.sha256")
}

// TestExportQueryAndLock: --query selects by the search language (the
// index is brought up to date first); an export needs the archive's lock
// (exit 4); help texts have an example and the exit status.
func TestExportQueryAndLock(t *testing.T) {
	msgs := exportertest.Corpus(t, 60, 6, false)
	dir := exportArchive(t, msgs)
	out := filepath.Join(t.TempDir(), "sent.mbox")
	r := mustRun(t, dir, "--json", "export", "mbox", out, "--query", "folder:Sent")
	var rep exportReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	want := 0
	seen := map[[32]byte]bool{}
	for _, m := range msgs {
		if m.Folder == "Sent" && !seen[m.ID()] {
			seen[m.ID()] = true
			want++
		}
	}
	if want == 0 || rep.Total.Done.Messages != int64(want) {
		t.Errorf("--query folder:Sent exported %d, want %d", rep.Total.Done.Messages, want)
	}
	for _, f := range rep.Folders {
		for _, s := range f.Sources {
			if s != "work/Sent" {
				t.Errorf("source %s selected", s)
			}
		}
	}
	if r := runCLI(t, dir, "export", "mbox", out, "--query", "(unbalanced"); r.code != exitUsage {
		t.Errorf("bad query: exit %d", r.code)
	}

	a, err := archive.Open(context.Background(), dir, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, dir, "export", "eml", t.TempDir())
	a.Close()
	if r.code != exitLocked {
		t.Errorf("export of a locked archive: exit %d, want 4\n%s", r.code, r.stderr)
	}

	for _, args := range [][]string{{"export", "imap"}, {"export", "smtp"}, {"export", "mbox"}, {"export", "eml"}} {
		r := mustRun(t, "/nonexistent", append(args, "--help")...)
		if !strings.Contains(r.stdout, "EXIT STATUS") || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "SELECTION") {
			t.Errorf("%v --help lacks EXIT STATUS, SELECTION or an example", args)
		}
	}
}
