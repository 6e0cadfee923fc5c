package pop3

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"os"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/testcorpus"
)

// The interop tests run against a private Dovecot (internal/dovecottest):
// they skip without one, and fail instead when CI is set.

// corpusInbox generates n realistic messages, odd ones included, all to go
// into one INBOX.
func corpusInbox(t testing.TB, n int, seed int64) []*testcorpus.Message {
	t.Helper()
	var out []*testcorpus.Message
	err := testcorpus.Generate(testcorpus.Options{Seed: seed, Count: n, Odd: true}, func(m *testcorpus.Message) error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fill(t testing.TB, s *dovecottest.Server, user string, msgs []*testcorpus.Message) {
	t.Helper()
	dm := make([]dovecottest.Message, len(msgs))
	for i, m := range msgs {
		dm[i] = dovecottest.Message{Raw: m.Raw, InternalDate: m.InternalDate}
	}
	s.FillBulk(t, user, "INBOX", dm)
}

// served fetches the whole maildrop with the client, independently of the
// importer: the bytes Dovecot sends for each message number.
func served(t *testing.T, s *dovecottest.Server, user string) map[int][]byte {
	t.Helper()
	ctx := context.Background()
	c, err := Dial(ctx, s.POP3Addr, Options{Security: STARTTLS, TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, user, s.Password(user), Auto); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var nums []int
	for _, m := range list {
		nums = append(nums, m.Num)
	}
	out := map[int][]byte{}
	err = c.RetrEach(ctx, nums, func(n int, body io.Reader, err error) error {
		if err != nil {
			return err
		}
		out[n], err = io.ReadAll(body)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
	return out
}

func hexID(b []byte) string { return crlfID(b) }

func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

func dovecotConfig(s *dovecottest.Server, user string, sec Security) Config {
	addr := s.POP3Addr
	if sec == ImplicitTLS {
		addr = s.POP3SAddr
	}
	return Config{
		Addr: addr, Host: "127.0.0.1", User: user, Password: s.Password(user),
		Dial:       Options{Security: sec, TLSConfig: s.TLSConfig(), Timeout: 10 * time.Second},
		Account:    testAcct,
		RetryDelay: 50 * time.Millisecond,
	}
}

func dovecotImport(t *testing.T, a *archive.Archive, cfg Config) (*Result, *importersReport) {
	t.Helper()
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Known, err = a.SourceRefs(ctx, SourceName(cfg.Host, cfg.User))
	if err != nil {
		t.Fatal(err)
	}
	rep := &importersReport{}
	res, err := Import(ctx, cfg, w, rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return res, rep
}

func stat(t *testing.T, s *dovecottest.Server, user string) int {
	t.Helper()
	ctx := context.Background()
	c, err := Dial(ctx, s.POP3SAddr, Options{Security: ImplicitTLS, TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx, user, s.Password(user), Auto); err != nil {
		t.Fatal(err)
	}
	n, _, err := c.Stat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
	return n
}

func TestDovecot(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	msgs := corpusInbox(t, 300, 7)
	fill(t, s, "alice", msgs)
	pop := served(t, s, "alice")
	if len(pop) != len(msgs) {
		t.Fatalf("Dovecot serves %d messages, want %d", len(pop), len(msgs))
	}
	// What Dovecot serves is the corpus, with line ends made CRLF (so the
	// same identity) and, for a message without a final line end, a CRLF
	// added.
	for i, m := range msgs {
		got := pop[i+1]
		want := m.Raw
		if !bytes.HasSuffix(m.Raw, []byte("\n")) {
			want = append(bytes.Clone(m.Raw), '\r', '\n')
		}
		if hexID(got) != hexID(want) {
			t.Fatalf("message %d (%v): Dovecot serves other content", i+1, m.Tags)
		}
	}

	check := func(t *testing.T, a *archive.Archive) {
		t.Helper()
		es := entries(t, a)
		ids := map[string]entry{}
		for _, e := range es {
			ids[e.ID] = e
		}
		for i, m := range msgs {
			id := hex.EncodeToString(sum(m.ID()))
			e, ok := ids[id]
			if !ok {
				t.Errorf("message %d (%v) not archived", i+1, m.Tags)
				continue
			}
			got, err := os.ReadFile(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			// Byte for byte: the corpus where Dovecot sends it unchanged
			// (CRLF messages, and those it only adds a final CRLF to),
			// else what POP3 returned.
			want := m.Raw
			if hasBareLF(m.Raw) {
				want = pop[i+1]
			}
			if !bytes.Equal(got, want) {
				t.Errorf("message %d (%v): archived bytes differ (%d, want %d)", i+1, m.Tags, len(got), len(want))
			}
			// The corpus's internal date is the newest Received's (to the
			// second), except for copies it files later (dup:, near-dup),
			// which no header can tell.
			copied := m.HasTag("near-dup") || m.HasTag("dup:other-folder") || m.HasTag("dup:same-folder")
			if !copied && hasReceived(m.Raw) {
				if d := e.Date - m.InternalDate.Unix(); d < -1 || d > 1 {
					t.Errorf("message %d (%v): internal date %v, want the newest Received's %v", i+1, m.Tags, time.Unix(e.Date, 0).UTC(), m.InternalDate)
				}
			}
		}
		unique := map[string]bool{}
		for _, m := range msgs {
			unique[hex.EncodeToString(sum(m.ID()))] = true
		}
		if len(es) != len(unique) {
			t.Errorf("%d entries, want %d unique messages", len(es), len(unique))
		}
		archive.TestVerify(t, a)
	}

	t.Run("STLS", func(t *testing.T) {
		a := archive.TestArchive(t)
		res, rep := dovecotImport(t, a, dovecotConfig(s, "alice", STARTTLS))
		if rep.Failed != 0 || int(rep.New+rep.Existing+rep.Linked) != len(msgs) || res.NoUIDL {
			t.Fatalf("%+v %+v %v", rep.RunCounts, res, rep.Problems)
		}
		check(t, a)

		// A rerun fetches nothing.
		start := time.Now()
		res, rep = dovecotImport(t, a, dovecotConfig(s, "alice", STARTTLS))
		if rep.New != 0 || int(res.Known) != len(msgs) || res.Sessions != 1 {
			t.Fatalf("rerun: %+v %+v", rep.RunCounts, res)
		}
		t.Logf("no-op rerun over %d messages: %v", len(msgs), time.Since(start))

		// New mail is picked up.
		more := corpusInbox(t, 320, 7)[300:]
		fill(t, s, "alice", more)
		res, rep = dovecotImport(t, a, dovecotConfig(s, "alice", STARTTLS))
		if int(rep.New+rep.Linked+rep.Existing) != len(msgs)+len(more) || int(res.Known) != len(msgs) {
			t.Fatalf("new mail: %+v %+v", rep.RunCounts, res)
		}
		if stat(t, s, "alice") != len(msgs)+len(more) {
			t.Fatal("the server changed without --delete")
		}
	})

	t.Run("implicit TLS", func(t *testing.T) {
		a := archive.TestArchive(t)
		_, rep := dovecotImport(t, a, dovecotConfig(s, "alice", ImplicitTLS))
		if rep.Failed != 0 {
			t.Fatalf("%+v %v", rep.RunCounts, rep.Problems)
		}
		es := entries(t, a)
		if len(es) < len(msgs) {
			t.Fatalf("%d entries", len(es))
		}
	})
}

func sum(id [32]byte) []byte { return id[:] }

func hasReceived(raw []byte) bool {
	head := raw[:min(len(raw), 8192)]
	return bytes.HasPrefix(head, []byte("Received:")) || bytes.Contains(head, []byte("\nReceived:"))
}

func TestDovecotDelete(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	msgs := corpusInbox(t, 120, 3)
	fill(t, s, "bob", msgs)
	ctx := context.Background()

	// What the safety rests on (RFC 1939 §6): DELE without QUIT removes
	// nothing.
	c, err := Dial(ctx, s.POP3Addr, Options{Security: STARTTLS, TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, "bob", s.Password("bob"), Auto); err != nil {
		t.Fatal(err)
	}
	if refused, err := c.DeleEach(ctx, []int{1, 2, 3}); err != nil || len(refused) > 0 {
		t.Fatal(refused, err)
	}
	c.Close()
	if n := stat(t, s, "bob"); n != len(msgs) {
		t.Fatalf("a dropped session deleted messages: %d left of %d", n, len(msgs))
	}

	// The archive's commit fails: nothing is deleted.
	a := archive.TestArchive(t)
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.BatchMessages = 1 << 20
	cfg := dovecotConfig(s, "bob", STARTTLS)
	cfg.Delete = true
	if _, err := Import(ctx, cfg, &failingCommit{Writer: w}, &importersReport{}); err == nil {
		t.Fatal("Import succeeded with a failing commit")
	}
	if n := stat(t, s, "bob"); n != len(msgs) {
		t.Fatalf("deleted after a failed commit: %d left", n)
	}

	// Interrupted after 50 messages: nothing deleted.
	cctx, cancel := context.WithCancel(ctx)
	w, err = a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.BatchMessages = 10
	cfg.Progress = &cancelAfter{at: 50, cancel: cancel}
	if _, err := Import(cctx, cfg, w, &importersReport{}); err == nil {
		t.Fatal("no error after cancel")
	}
	w.Commit(ctx)
	cfg.Progress = nil
	if n := stat(t, s, "bob"); n != len(msgs) {
		t.Fatalf("deleted by an interrupted run: %d left", n)
	}
	if n := len(entries(t, a)); n < 40 {
		t.Fatalf("%d entries after the interrupted run", n)
	}

	// The complete run deletes every message it has archived (all of them
	// here), and only those: new mail that arrives after the listing stays.
	res, rep := dovecotImport(t, a, cfg)
	if rep.Failed != 0 || res.Deleted != len(msgs) {
		t.Fatalf("%+v %+v", rep.RunCounts, res)
	}
	if n := stat(t, s, "bob"); n != 0 {
		t.Fatalf("%d messages left after --delete", n)
	}
	late := corpusInbox(t, 130, 4)[120:]
	fill(t, s, "bob", late)
	if n := stat(t, s, "bob"); n != len(late) {
		t.Fatalf("%d on the server, want %d", n, len(late))
	}
	es := entries(t, a)
	ids := map[string]bool{}
	for _, e := range es {
		ids[e.ID] = true
	}
	for i, m := range msgs {
		if !ids[hex.EncodeToString(sum(m.ID()))] {
			t.Errorf("message %d deleted from the server but not archived", i+1)
		}
	}
	archive.TestVerify(t, a)
}
