package hostile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedUpToDate fails when testdata/hostile no longer holds what
// the generator writes (rerun genhostile), and enforces the size limits of
// committed files.
func TestCommittedUpToDate(t *testing.T) {
	committed := filepath.Join("..", "..", "testdata", "hostile")
	fresh := t.TempDir()
	cases, err := Write(fresh, false)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range cases {
		want, err := os.ReadFile(filepath.Join(fresh, c.File))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, c.File))
		if err != nil {
			t.Errorf("%v (run go run ./internal/hostile/cmd/genhostile)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator (run go run ./internal/hostile/cmd/genhostile)", c.File)
		}
		if len(got) > 1100<<10 {
			t.Errorf("%s: %d bytes, more than 1.1 MB", c.File, len(got))
		}
		total += int64(len(got))
	}
	if total > 3<<20 {
		t.Errorf("committed corpus is %d bytes, more than 3 MB", total)
	}
	readme, err := os.ReadFile(filepath.Join(committed, "README"))
	if err != nil || string(readme) != README() {
		t.Errorf("README is out of date (err %v)", err)
	}
}

// TestMboxMessages checks the expected mbox messages say what their
// cases claim: the mboxrd reading unquotes both >From lines by one level,
// the mboxo reading only the first.
func TestMboxMessages(t *testing.T) {
	for _, c := range Cases(false) {
		if c.Format == EML {
			continue
		}
		if len(c.Messages) != 4 {
			t.Fatalf("%s: %d messages", c.File, len(c.Messages))
		}
		m := string(c.Messages[0])
		want := map[Format][]string{
			MboxRD: {"\nFrom quoted once", "\n>From quoted twice"},
			MboxO:  {"\nFrom quoted once", "\n>>From quoted twice"},
		}[c.Format]
		for _, w := range want {
			if !strings.Contains(m, w) {
				t.Errorf("%s: first message lacks %q", c.File, w)
			}
		}
	}
}
