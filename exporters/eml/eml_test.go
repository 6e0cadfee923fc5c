package eml

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
)

// TestLayout: folders become directories ("." and ".." levels escaped),
// accounts a top level when there are several, names carry date and ID,
// bytes are unchanged, and the manifest lists every file.
func TestLayout(t *testing.T) {
	a := archive.TestArchive(t)
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte("Subject: x\n\nbare LF body\n")
	date := time.Date(2019, 3, 4, 10, 15, 0, 0, time.UTC)
	for _, m := range []archive.Meta{{Account: "a", Folder: "INBOX"}, {Account: "a", Folder: "../x"}, {Account: "b", Folder: "Sent/."}} {
		m.InternalDate = date
		if _, err := w.Deliver(ctx, bytes.NewReader(raw), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	id := archive.Sum(raw)
	name := "20190304T101500Z-" + id.String() + ".eml"
	for _, c := range []struct {
		accounts []string
		files    []string
	}{
		{[]string{"a"}, []string{"INBOX/" + name, "%2E%2E/x/" + name}},
		{nil, []string{"a/INBOX/" + name, "a/%2E%2E/x/" + name, "b/Sent/%2E/" + name}},
	} {
		sel, err := a.Select(ctx, archive.SelectOptions{Accounts: c.accounts})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		rep := &exporters.Report{}
		if err := Export(ctx, sel, dir, Options{BatchFiles: 2}, rep); err != nil {
			t.Fatal(err)
		}
		for _, f := range c.files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil || !bytes.Equal(b, raw) {
				t.Errorf("%s: %q, %v", f, b, err)
			}
		}
		m, _ := os.ReadFile(filepath.Join(dir, ManifestName))
		if n := strings.Count(string(m), "\n"); n != len(c.files) {
			t.Errorf("manifest has %d lines, want %d:\n%s", n, len(c.files), m)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*", "*"+exporters.TmpSuffix)); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
}
