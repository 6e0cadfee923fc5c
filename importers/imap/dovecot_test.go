package imap

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/internal/tlsopt"
)

// The Dovecot tests run the importer against a real server (see
// internal/dovecottest: they skip without Dovecot, and fail instead when
// CI is set).

type corpusMsg struct {
	*testcorpus.Message
	id string // what mailark must store: the bytes IMAP BODY[] returns
}

// served is m.Raw as Dovecot serves it. Dovecot sends line ends as CRLF
// (which the ID normalises anyway) and a NUL byte as 0x80, so only the
// latter changes the ID. The sample check below compares stored files with
// BODY[] itself, which keeps this assumption honest.
func served(raw []byte) []byte {
	return bytes.ReplaceAll(raw, []byte{0}, []byte{0x80})
}

func fillCorpus(t *testing.T, s *dovecottest.Server, opts testcorpus.Options) []corpusMsg {
	t.Helper()
	var all []corpusMsg
	byFolder := map[string][]dovecottest.Message{}
	var order []string
	err := testcorpus.Generate(opts, func(m *testcorpus.Message) error {
		id := archive.Sum(served(m.Raw))
		all = append(all, corpusMsg{m, id.String()})
		if byFolder[m.Folder] == nil {
			order = append(order, m.Folder)
		}
		byFolder[m.Folder] = append(byFolder[m.Folder], dovecottest.Message{Raw: m.Raw, Flags: m.Flags, InternalDate: m.InternalDate})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range order {
		s.FillBulk(t, "alice", f, byFolder[f])
	}
	return all
}

// expectedCatalog is folder -> IDs a correct import holds.
func expectedCatalog(msgs []corpusMsg) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, m := range msgs {
		if out[m.Folder] == nil {
			out[m.Folder] = map[string]bool{}
		}
		out[m.Folder][m.id] = true
	}
	return out
}

func dovecotOptions(t testing.TB, s *dovecottest.Server, implicit bool) Options {
	o := Options{Addr: s.IMAPAddr, TLS: tlsopt.StartTLS, TLSConfig: s.TLSConfig(), User: "alice", Password: s.Password("alice"),
		Logger: testLogger(t), RetryDelay: 10 * time.Millisecond}
	if implicit {
		o.Addr, o.TLS = s.IMAPSAddr, tlsopt.Implicit
	}
	return o
}

func compareCatalog(t *testing.T, got map[string]map[string]entry, want map[string]map[string]bool) {
	t.Helper()
	for folder, ids := range want {
		if len(got[folder]) != len(ids) {
			t.Errorf("folder %s: %d messages, want %d", folder, len(got[folder]), len(ids))
		}
		for id := range ids {
			if _, ok := got[folder][id]; !ok {
				t.Errorf("folder %s: message %s missing", folder, id[:12])
			}
		}
	}
	for folder, ids := range got {
		for id := range ids {
			if !want[folder][id] {
				t.Errorf("folder %s: unexpected message %s", folder, id[:12])
			}
		}
	}
}

func TestDovecotImport(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	msgs := fillCorpus(t, s, testcorpus.Options{Seed: 42, Count: 600, Odd: true, BigMessage: 30 << 20})
	want := expectedCatalog(msgs)
	account := "alice"
	ctx := context.Background()

	a := archive.TestArchive(t)
	start := time.Now()
	sum, rep := mustImport(t, a, dovecotOptions(t, s, false))
	t.Logf("STARTTLS import: %v, %+v", time.Since(start), rep.RunCounts)
	if rep.Failed != 0 || len(rep.Problems) != 0 {
		t.Fatalf("problems: %+v", rep.Problems)
	}
	got := catalog(t, a, account)
	compareCatalog(t, got, want)
	if len(sum.Folders) != len(want) {
		t.Errorf("%d folders in the report, want %d", len(sum.Folders), len(want))
	}
	for _, fr := range sum.Folders {
		if n := int64(len(want[fr.Folder])); fr.New+fr.Linked+fr.Existing != int64(fr.ToFetch) || fr.New+fr.Linked > n {
			t.Errorf("folder %s report %+v, %d distinct messages", fr.Folder, fr, n)
		}
		if fr.Folder == "Sent" && fr.SpecialUse != `\Sent` {
			t.Errorf("Sent: special use %q", fr.SpecialUse)
		}
	}

	// Flags (keywords too) and INTERNALDATE, for messages that are once in
	// their folder; one file per distinct message, linked into each folder.
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Folder+"\x00"+m.id]++
	}
	keywords, dups := 0, 0
	inode := map[string]os.FileInfo{}
	for _, m := range msgs {
		e := got[m.Folder][m.id]
		if seen[m.Folder+"\x00"+m.id] == 1 {
			if w := strings.Join(archive.NormalizeFlags(m.Flags), " "); e.flags != w {
				t.Errorf("%s uid %d (%s): flags %q, want %q", m.Folder, e.uid, m.id[:12], e.flags, w)
			}
			if e.date != m.InternalDate.Unix() {
				t.Errorf("%s (%s): internal date %d, want %d", m.Folder, m.id[:12], e.date, m.InternalDate.Unix())
			}
			if strings.Contains(e.flags, "$") {
				keywords++
			}
		}
		st, err := os.Stat(fileOf(t, a, account, m.Folder, e))
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := inode[m.id]; ok {
			if !os.SameFile(prev, st) {
				t.Errorf("message %s is stored twice, not linked", m.id[:12])
			}
			dups++
		} else {
			inode[m.id] = st
		}
	}
	if keywords == 0 || dups == 0 {
		t.Errorf("the corpus exercised %d keywords and %d duplicates; want some of each", keywords, dups)
	}

	// Byte for byte: stored files against what BODY[] returns, for the odd
	// messages, the big one and a sample of the rest.
	checkBodies(t, s, a, account, msgs)
	archive.TestVerify(t, a)

	// Implicit TLS, another archive: the same catalog.
	b := archive.TestArchive(t)
	_, rep = mustImport(t, b, dovecotOptions(t, s, true))
	if rep.Failed != 0 {
		t.Fatalf("implicit TLS: %+v", rep.Problems)
	}
	compareCatalog(t, catalog(t, b, account), want)

	// A rerun fetches nothing.
	start = time.Now()
	sum, rep = mustImport(t, a, dovecotOptions(t, s, false))
	t.Logf("no-op rerun over %d messages in %d folders: %v", len(msgs), len(want), time.Since(start))
	if rep.New+rep.Linked+rep.Existing+rep.Failed != 0 {
		t.Errorf("rerun: %+v", rep.RunCounts)
	}
	for _, fr := range sum.Folders {
		if fr.ToFetch != 0 {
			t.Errorf("rerun: %s had %d to fetch", fr.Folder, fr.ToFetch)
		}
	}

	// New mail, one with a keyword, in a folder whose name needs modified UTF-7.
	n1 := []byte("From: new@example.org\r\nSubject: new\r\nMessage-ID: <new1@example.org>\r\n\r\nnew mail\r\n")
	n2 := []byte("From: new@example.org\r\nSubject: new 2\r\n\r\nno message-id, no date\r\n")
	d := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	s.Fill(t, "alice", "INBOX", n1, []string{`\Seen`, "$Important"}, d)
	s.Fill(t, "alice", "Reçus & Factures", n2, nil, d)
	_, rep = mustImport(t, a, dovecotOptions(t, s, false))
	if rep.New != 2 || rep.Failed != 0 {
		t.Errorf("after new mail: %+v", rep.RunCounts)
	}
	got = catalog(t, a, account)
	if e := got["INBOX"][idHex(n1)]; e.flags != `$Important \Seen` || e.date != d.Unix() {
		t.Errorf("new INBOX message: %+v", e)
	}
	want["INBOX"][idHex(n1)] = true
	want["Reçus & Factures"][idHex(n2)] = true

	// A folder that loses its UIDs (new UIDVALIDITY) is read again and
	// nothing is stored twice.
	var sent []dovecottest.Message
	for _, m := range msgs {
		if m.Folder == "Sent" {
			sent = append(sent, dovecottest.Message{Raw: m.Raw, Flags: m.Flags, InternalDate: m.InternalDate})
		}
	}
	before := s.UIDValidity(t, "alice", "Sent")
	s.RecreateFolder(t, "alice", "Sent")
	if s.UIDValidity(t, "alice", "Sent") == before {
		t.Fatal("RecreateFolder kept UIDVALIDITY")
	}
	s.FillBulk(t, "alice", "Sent", sent)
	sum, rep = mustImport(t, a, dovecotOptions(t, s, false))
	fr := folderReport(t, sum, "Sent")
	if !fr.UIDValidityReset || fr.New != 0 || fr.Existing != int64(len(sent)) || rep.Failed != 0 {
		t.Errorf("after UIDVALIDITY change: %+v", fr)
	}
	compareCatalog(t, catalog(t, a, account), want)
	archive.TestVerify(t, a)
	st, err := a.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("archive: %d messages, %d unique", st.Messages, st.Unique)
}

// checkBodies compares stored files with BODY[] fetched by a separate,
// plain client.
func checkBodies(t *testing.T, s *dovecottest.Server, a *archive.Archive, account string, msgs []corpusMsg) {
	t.Helper()
	c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", s.Password("alice")).Wait(); err != nil {
		t.Fatal(err)
	}
	got := catalog(t, a, account)
	checked := 0
	for folder, ids := range got {
		if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		for id, e := range ids {
			m := msgs[slices.IndexFunc(msgs, func(m corpusMsg) bool { return m.id == id })]
			if !m.HasTag("big") && !hasOdd(m.Tags) && e.uid%23 != 0 {
				continue
			}
			// The archive's UIDs are its own: find the server's message by
			// size, then compare bytes.
			file, err := os.ReadFile(fileOf(t, a, account, folder, e))
			if err != nil {
				t.Fatal(err)
			}
			body := serverBody(t, c, folder, file)
			if body == nil {
				t.Errorf("%s: no message on the server with the bytes of %s", folder, id[:12])
				continue
			}
			checked++
		}
	}
	t.Logf("%d stored files compared with BODY[]", checked)
	if checked < 20 {
		t.Errorf("only %d files compared", checked)
	}
}

func hasOdd(tags []string) bool {
	return slices.ContainsFunc(tags, func(s string) bool { return strings.HasPrefix(s, "odd:") })
}

// serverBody finds the message of the selected folder whose BODY[] equals
// file: SEARCH LARGER/SMALLER narrows by RFC822.SIZE first.
func serverBody(t *testing.T, c *imapclient.Client, folder string, file []byte) []byte {
	t.Helper()
	size := int64(len(file)) // Dovecot's files are CRLF as served; so are ours
	sd, err := c.UIDSearch(&imap.SearchCriteria{Larger: size - 1, Smaller: size + 1}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	uids := sd.AllUIDs()
	if len(uids) == 0 {
		return nil
	}
	bufs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bufs {
		body := b.FindBodySection(&imap.FetchItemBodySection{Peek: true})
		if bytes.Equal(body, file) {
			return body
		}
	}
	return nil
}

// TestDovecotKilled kills the real binary in the middle of an import and
// checks that a rerun ends with the catalog of an uninterrupted import.
func TestDovecotKilled(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	msgs := fillCorpus(t, s, testcorpus.Options{Seed: 9, Count: 2500, Odd: true})
	want := expectedCatalog(msgs)
	bin := filepath.Join(t.TempDir(), "mailark")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/mailark").CombinedOutput(); err != nil {
		t.Fatalf("building mailark: %v\n%s", err, out)
	}
	imapArgs := func(dir string) []string {
		_, port, _ := strings.Cut(s.IMAPAddr, ":")
		return []string{"--archive", dir, "--quiet", "import", "imap", "--host", "127.0.0.1", "--port", port,
			"--tls-ca", s.CAFile, "--user", "alice", "--password-env", "MAILARK_TEST_PW"}
	}
	command := func(dir string, extra ...string) *exec.Cmd {
		cmd := exec.Command(bin, append(imapArgs(dir), extra...)...)
		cmd.Env = append(os.Environ(), "MAILARK_TEST_PW="+s.Password("alice"))
		return cmd
	}

	killed := t.TempDir()
	cmd := command(killed)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once a few hundred messages are committed.
	deadline := time.Now().Add(30 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		n = countEntries(killed)
		if n >= 300 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	after := countEntries(killed)
	t.Logf("killed with %d entries committed (%d when the signal was sent)", after, n)
	if after >= len(msgs) || after == 0 {
		t.Fatalf("the kill did not land in the middle of the import (%d of %d entries); stderr:\n%s", after, len(msgs), stderr.String())
	}
	if out, err := command(killed).CombinedOutput(); err != nil {
		t.Fatalf("mailark import imap after the kill: %v\n%s", err, out)
	}
	uninterrupted := t.TempDir()
	cmd = command(uninterrupted, "--json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mailark import imap: %v\n%s", err, out)
	}
	var report struct {
		Status  string
		Counts  archive.RunCounts
		Folders []FolderReport
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, out)
	}
	if report.Status != "ok" || report.Counts.New+report.Counts.Linked+report.Counts.Existing != int64(len(msgs)) || len(report.Folders) != len(want) {
		t.Errorf("JSON report: status %s, counts %+v, %d folders", report.Status, report.Counts, len(report.Folders))
	}
	out, err = command(uninterrupted, "--dry-run").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " 0 messages (0 B) to fetch") {
		t.Errorf("dry run after the import: %v\n%s", err, out)
	}

	open := func(dir string) *archive.Archive {
		a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	ka, ua := open(killed), open(uninterrupted)
	got, ref := catalog(t, ka, "alice"), catalog(t, ua, "alice")
	compareCatalog(t, got, want)
	compareCatalog(t, ref, want)
	// The same bytes twice in one folder are one entry, and which copy's
	// flags and date it keeps depends on which arrives first: with parallel
	// connections that order is not fixed, so those are not compared.
	copies := map[string]int{}
	for _, m := range msgs {
		copies[m.Folder+"\x00"+m.id]++
	}
	for folder, ids := range ref {
		for id, e := range ids {
			if copies[folder+"\x00"+id] > 1 {
				continue
			}
			if g := got[folder][id]; g.flags != e.flags || g.date != e.date {
				t.Errorf("%s %s: killed+rerun has %q %d, uninterrupted %q %d", folder, id[:12], g.flags, g.date, e.flags, e.date)
			}
		}
	}
	archive.TestVerify(t, ka)
}

// countEntries reads the catalog of a running import, read-only.
func countEntries(dir string) int {
	if _, err := os.Stat(filepath.Join(dir, "catalog.db")); err != nil {
		return 0
	}
	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		return 0
	}
	defer a.Close()
	var n int
	if err := a.DB().QueryRow(`SELECT count(*) FROM entries`).Scan(&n); err != nil {
		return 0
	}
	return n
}
