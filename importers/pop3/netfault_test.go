package pop3

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/faultproxy"
	"github.com/mailark/mailark/internal/testcorpus"
)

// TestNetFaults is the network-fault matrix against a real Dovecot POP3
// server: an unfaulted import through the proxy measures the byte stream,
// then each case imports into a fresh archive with one fault (a cut at a
// spread offset, a stall longer than the read timeout, every chunk
// delayed). The faulted run must report the failure or reconnect and
// complete, and never store a partial message; a rerun without faults must
// then hold exactly what the unfaulted import holds.
// MAILARK_NETFAULT_CUTS sets the number of cuts; MAILARK_MATRIX_OUT
// receives the summary line.
func TestNetFaults(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	msgs, err := testcorpus.All(testcorpus.Options{Seed: 17, Count: 60, Odd: true, BigMessage: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, "alice", msgs)
	// A stored message must be a corpus message or what Dovecot serves for
	// one (read by an independent session): Dovecot adds a final CRLF the
	// importer may take off again, and turns bare LF into CRLF.
	source := map[string]bool{}
	for _, m := range msgs {
		source[crlfID(m.Raw)] = true
	}
	for _, b := range served(t, s, "alice") {
		source[hexID(b)] = true
	}
	p := faultproxy.Start(t, s.POP3Addr, nil)
	const timeout = 2 * time.Second
	cfg := func() Config {
		c := dovecotConfig(s, "alice", STARTTLS)
		c.Addr = p.Addr
		c.Dial.Timeout = timeout
		c.RetryDelay = 20 * time.Millisecond
		return c
	}

	ref := archive.TestArchive(t)
	if _, rep := dovecotImport(t, ref, cfg()); rep.Failed != 0 {
		t.Fatalf("unfaulted import: %+v %v", rep.RunCounts, rep.Problems)
	}
	want := popCounts(t, ref)
	for k := range want {
		if !source[k.id] {
			t.Fatalf("unfaulted import: stored message %s is no message of the maildrop", k.id[:12])
		}
	}
	measured := p.Stats()
	t.Logf("unfaulted import: %d connections, %d bytes down, %d up", measured.Conns, measured.Down, measured.Up)
	cases, err := faultproxy.Matrix(measured.PerConn, faultproxy.MatrixOptions{
		Cuts: faultproxy.Cuts(t), Delay: 10 * time.Millisecond, Chunk: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}

	row := faultproxy.Row{Name: "importers/pop3"}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			a := archive.TestArchive(t)
			var res *Result
			rep := &importersReport{}
			start := time.Now()
			out := row.Run(t, p, c, "import", func(ctx context.Context) error {
				var err error
				res, err = importCtx(ctx, t, a, cfg(), rep)
				return err
			})
			complete := out.Err == nil && rep.Failed == 0
			t.Logf("faulted run in %v: err %v, %+v, %d sessions, %d problems", time.Since(start).Round(time.Millisecond),
				out.Err, rep.RunCounts, res.Sessions, len(rep.Problems))
			switch c.Kind {
			case faultproxy.None:
				if !complete || res.Sessions != 1 {
					t.Errorf("slow run: err %v, %d failed, %d sessions; want one clean session", out.Err, rep.Failed, res.Sessions)
				}
			case faultproxy.Stall:
				if complete && res.Sessions < 2 {
					t.Errorf("the stall went unnoticed: one session, no error")
				}
			}
			if complete {
				countDiff(t, popCounts(t, a), want)
			}
			for k := range popCounts(t, a) {
				if !source[k.id] {
					t.Errorf("stored message %s is no message of the maildrop", k.id[:12])
				}
			}
			if n := tmpCount(t, a); n > 0 {
				t.Errorf("%d files left in tmp/", n)
			}
			archive.TestVerify(t, a)

			_, rrep := dovecotImport(t, a, cfg())
			if rrep.Failed != 0 {
				t.Errorf("rerun: %+v %v", rrep.RunCounts, rrep.Problems)
			}
			lost, dup := countDiff(t, popCounts(t, a), want)
			row.Lost += lost
			row.Duplicated += dup
			archive.TestVerify(t, a)
		})
	}
	faultproxy.Report(t, row)
}

// importCtx is dovecotImport with a context and without failing on the
// import's error.
func importCtx(ctx context.Context, t *testing.T, a *archive.Archive, cfg Config, rep *importersReport) (*Result, error) {
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Error(err)
		return &Result{}, err
	}
	if cfg.Known, err = a.SourceRefs(ctx, SourceName(cfg.Host, cfg.User)); err != nil {
		t.Error(err)
		return &Result{}, err
	}
	res, err := Import(ctx, cfg, w, rep)
	// What was delivered completely is kept, as the command does.
	if cerr := w.Commit(context.Background()); cerr != nil {
		t.Errorf("commit: %v", cerr)
	}
	if res == nil {
		res = &Result{}
	}
	return res, err
}

type folderID struct{ folder, id string }

func popCounts(t *testing.T, a *archive.Archive) map[folderID]int {
	t.Helper()
	out := map[folderID]int{}
	for _, e := range entries(t, a) {
		out[folderID{e.Folder, e.ID}]++
	}
	return out
}

// countDiff compares entry counts with the unfaulted run's and returns
// the entries missing and those in excess.
func countDiff(t *testing.T, got, want map[folderID]int) (lost, dup int) {
	t.Helper()
	for k, n := range want {
		if d := n - got[k]; d > 0 {
			lost += d
			t.Errorf("%s: message %s missing", k.folder, k.id[:12])
		}
	}
	for k, n := range got {
		if d := n - want[k]; d > 0 {
			dup += d
			t.Errorf("%s: message %s has %d entries, want %d", k.folder, k.id[:12], n, want[k])
		}
	}
	return lost, dup
}

// tmpCount counts files left in the account's tmp/ directories.
func tmpCount(t *testing.T, a *archive.Archive) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(a.MaildirRoot(), testAcct), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nothing stored yet
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Base(filepath.Dir(p)) == "tmp" {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
