package exporters

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mailark/mailark/archive"
)

// crlfOf is the reference normalisation.
func crlfOf(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func TestCRLFReaderAndWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("a\r\n.")
	for n := range 500 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		want := crlfOf(b)
		// Reader, with reads of every size, and one byte at a time.
		got, err := io.ReadAll(iotest.OneByteReader(NewCRLFReader(iotest.HalfReader(bytes.NewReader(b)))))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("case %d: reader %q -> %q, want %q (%v)", n, b, got, want, err)
		}
		small := make([]byte, 1+rng.IntN(3))
		var buf bytes.Buffer
		r := NewCRLFReader(iotest.OneByteReader(bytes.NewReader(b)))
		for {
			k, err := r.Read(small)
			buf.Write(small[:k])
			if err == io.EOF {
				break
			}
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("case %d: reader with %d-byte reads %q -> %q, want %q", n, len(small), b, buf.Bytes(), want)
		}
		// Writer, in random pieces.
		var out bytes.Buffer
		w := &crlfWriter{w: &out}
		for rest := b; len(rest) > 0; {
			k := 1 + rng.IntN(len(rest))
			w.Write(rest[:k])
			rest = rest[k:]
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("case %d: writer %q -> %q, want %q", n, b, out.Bytes(), want)
		}
		// Both agree with the archive's ID.
		if archive.Sum(b) != archive.Sum(want) || archive.NewHasher() == nil {
			t.Fatalf("case %d: ID of the CRLF form differs", n)
		}
	}
}

func TestScanner(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 1000)
	for _, c := range []struct {
		in   string
		want Features
	}{
		{"", Features{FinalNewline: true}},
		{"A: b\r\n\r\nbody\r\n", Features{LongestLine: 4, FinalNewline: true}},
		{"A: b\n\nbody", Features{LongestLine: 4}},
		{"A: b\r\n\r\nb\xc3\xa4dy\r\n", Features{EightBitBody: true, LongestLine: 5, FinalNewline: true}},
		{"A: \xc3\xa4\r\n\r\nbody\r\n", Features{EightBitHeader: true, LongestLine: 5, FinalNewline: true}},
		{"A: b\r\n\r\nxx\x00yy\r\n", Features{NUL: true, LongestLine: 5, FinalNewline: true}},
		{"A: b\r\n\r\nxx\ryy\r\n", Features{BareCR: true, LongestLine: 5, FinalNewline: true}},
		{"A: b\r\n\r\nxyzw\r", Features{BareCR: true, LongestLine: 5}},
		{"A: b\r\n\r\n" + string(long) + "\r\n", Features{LongestLine: 1000, FinalNewline: true}},
	} {
		s := &Scanner{}
		for i := 0; i < len(c.in); i++ { // byte by byte: state must carry across writes
			s.Write([]byte{c.in[i]})
		}
		if got := s.Features(); got != c.want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

// TestLoad: a Body has the CRLF bytes, in memory or from the file; a file
// that no longer matches its ID is refused.
func TestLoad(t *testing.T) {
	a := archive.TestArchive(t)
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("Subject: s\n\nbare LF body\n")
	big := append([]byte("Subject: b\n\n"), bytes.Repeat([]byte("0123456789abcdef\n"), MemLimit/10)...)
	for _, raw := range [][]byte{small, big} {
		if _, err := w.Deliver(ctx, bytes.NewReader(raw), archive.Meta{Account: "a", InternalDate: time.Unix(1e9, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	sel, err := a.Select(ctx, archive.SelectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var es []*archive.SelectedEntry
	sel.Each(ctx, func(e *archive.SelectedEntry) error { es = append(es, e); return nil })
	for i, raw := range [][]byte{small, big} {
		b, err := Load(es[i])
		if err != nil {
			t.Fatal(err)
		}
		r, _ := b.Open()
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, crlfOf(raw)) || b.Size != int64(len(got)) || (b.buf != nil) != (i == 0) {
			t.Errorf("message %d: %d bytes (in memory %v), want the %d-byte CRLF form", i, len(got), b.buf != nil, len(crlfOf(raw)))
		}
		b.Release()
	}
	// Damage the small one's file (same size, one byte changed).
	p := es[0].Path
	damaged := bytes.Replace(small, []byte("bare"), []byte("BARE"), 1)
	os.Chmod(p, 0o600)
	if err := os.WriteFile(p, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(es[0]); !errors.Is(err, ErrDamaged) {
		t.Errorf("damaged file: %v, want ErrDamaged", err)
	}
	os.Remove(p)
	if _, err := Load(es[0]); err == nil || errors.Is(err, ErrDamaged) {
		t.Errorf("missing file: %v", err)
	}
	_ = filepath.Base(p)
}

type memStore struct {
	commits [][]archive.Receipt
}

func (m *memStore) Receipts(context.Context, archive.ReceiptScope) (map[archive.ID]archive.Receipt, error) {
	return nil, nil
}
func (m *memStore) AddReceipts(_ context.Context, rs []archive.Receipt) error {
	m.commits = append(m.commits, append([]archive.Receipt(nil), rs...))
	return nil
}
func (m *memStore) DropReceipts(context.Context, archive.ReceiptScope, []archive.ID) error {
	return nil
}

func TestJournal(t *testing.T) {
	st := &memStore{}
	j := NewJournal(st, 3, time.Hour, 42)
	ctx := context.Background()
	for range 7 {
		j.Add(ctx, archive.Receipt{})
	}
	if len(st.commits) != 2 || j.Committed() != 6 {
		t.Errorf("%d commits, %d committed; want 2 and 6", len(st.commits), j.Committed())
	}
	j.Flush(ctx)
	if len(st.commits) != 3 || len(st.commits[2]) != 1 || st.commits[0][0].Run != 42 || st.commits[0][0].Time.IsZero() {
		t.Errorf("commits %+v", st.commits)
	}
	j = NewJournal(st, 100, time.Millisecond, 0)
	j.Add(ctx, archive.Receipt{})
	time.Sleep(2 * time.Millisecond)
	if !j.Due() {
		t.Error("an old receipt is not due")
	}
}

func TestManifestLine(t *testing.T) {
	var sum [32]byte
	sum[0] = 0xab
	if got := ManifestLine(sum, "a b.eml"); got != "ab"+string(bytes.Repeat([]byte("00"), 31))+"  a b.eml\n" {
		t.Errorf("plain: %q", got)
	}
	if got := ManifestLine(sum, `x\y`); got[0] != '\\' || !bytes.HasSuffix([]byte(got), []byte(`  x\\y`+"\n")) {
		t.Errorf("escaped: %q", got)
	}
}
