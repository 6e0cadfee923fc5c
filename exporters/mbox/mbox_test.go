package mbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	mboxcodec "github.com/mailark/mailark/mbox"
)

// TestDamagedMessageLeftOut: a damaged archive file is reported and
// dropped from the mbox, which still reads back as exactly the other
// messages; the index points at each one; --force is needed to replace.
func TestDamagedMessageLeftOut(t *testing.T) {
	a := archive.TestArchive(t)
	msgs := exportertest.Corpus(t, 30, 4, false)
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	var victim *archive.SelectedEntry
	sel.Each(context.Background(), func(e *archive.SelectedEntry) error {
		if victim == nil && e.UID == 3 {
			victim = e
		}
		return nil
	})
	b, _ := os.ReadFile(victim.Path)
	b[len(b)-3] ^= 1
	os.Chmod(victim.Path, 0o600)
	os.WriteFile(victim.Path, b, 0o600)

	path := filepath.Join(t.TempDir(), "x.mbox")
	rep := &exporters.Report{}
	if err := Export(context.Background(), sel, path, Options{}, rep); err != nil {
		t.Fatal(err)
	}
	tot := rep.Total()
	if tot.Failed.Messages != 1 {
		t.Errorf("failed %d, want 1", tot.Failed.Messages)
	}
	probs, _ := rep.Problems()
	if len(probs) != 1 || !probs[0].Fatal {
		t.Errorf("problems %+v", probs)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := mboxcodec.NewReader(f, mboxcodec.ReaderOptions{})
	n := 0
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(m.Body)
		if archive.Sum(body) == victim.ID {
			t.Error("the damaged message was written")
		}
		n++
	}
	if int64(n) != tot.Done.Messages {
		t.Errorf("%d messages in the mbox, %d written", n, tot.Done.Messages)
	}
	idx, _ := os.ReadFile(path + IndexSuffix)
	if !bytes.Contains(idx, []byte(sel.Folders()[0].Account)) {
		t.Errorf("index:\n%s", idx)
	}
	if err := Export(context.Background(), sel, path, Options{}, &exporters.Report{}); !errors.Is(err, ErrExists) {
		t.Errorf("second export without Force: %v", err)
	}
}
