package imap

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// onTarget is one message as fetched back from the target.
type onTarget struct {
	UID          imap.UID
	ID           archive.ID
	Flags        []string
	InternalDate time.Time
	Size         int64
	Raw          []byte
}

// fetchAll logs in and reads every message of every mailbox, bodies
// included.
func fetchAll(t testing.TB, addr, user, pass string) map[string][]onTarget {
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
	out := map[string][]onTarget{}
	for _, m := range list {
		if slices.Contains(m.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		sel, err := c.Select(m.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("examining %s: %v", m.Mailbox, err)
		}
		if sel.NumMessages == 0 {
			continue
		}
		var all imap.SeqSet
		all.AddRange(1, 0)
		fc := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := fc.Next(); msg != nil; msg = fc.Next() {
			var o onTarget
			for it := msg.Next(); it != nil; it = msg.Next() {
				switch x := it.(type) {
				case imapclient.FetchItemDataUID:
					o.UID = x.UID
				case imapclient.FetchItemDataFlags:
					for _, f := range x.Flags {
						o.Flags = append(o.Flags, string(f))
					}
				case imapclient.FetchItemDataInternalDate:
					o.InternalDate = x.Time
				case imapclient.FetchItemDataRFC822Size:
					o.Size = x.Size
				case imapclient.FetchItemDataBodySection:
					o.Raw, _ = io.ReadAll(x.Literal)
				}
			}
			o.ID = archive.Sum(o.Raw)
			o.Flags = archive.NormalizeFlags(o.Flags)
			out[m.Mailbox] = append(out[m.Mailbox], o)
		}
		if err := fc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for k := range out {
		sort.Slice(out[k], func(i, j int) bool { return out[k][i].UID < out[k][j].UID })
	}
	return out
}

// dovecotOptions are Options for user carol of a private Dovecot.
func dovecotOptions(t testing.TB, d *dovecottest.Server) Options {
	return Options{
		Addr: d.IMAPAddr, TLS: tlsopt.StartTLS, TLSConfig: d.TLSConfig(),
		User: "carol", Password: d.Password("carol"),
		Logger: testLogger(t),
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MAILARK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func runExport(t testing.TB, a *archive.Archive, sel *archive.Selection, o Options) *exporters.Report {
	t.Helper()
	rep := &exporters.Report{}
	if err := Run(context.Background(), a, sel, o, rep); err != nil {
		t.Fatalf("export: %v", err)
	}
	return rep
}

func logProblems(t testing.TB, rep *exporters.Report) {
	t.Helper()
	probs, _ := rep.Problems()
	for _, p := range probs {
		t.Logf("problem: %s: %s (failed %v)", p.Where, p.Error, p.Fatal)
	}
}
