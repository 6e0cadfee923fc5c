package dovecottest

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io/fs"
	"maps"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func msg(subject, body string) []byte {
	return []byte("From: a@example.org\r\nTo: b@example.org\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n")
}

// TestServerProtocols fills folders (non-ASCII and '&' names among them)
// and reads them back over every listener: IMAP, IMAP+STARTTLS, IMAPS,
// POP3 and POP3S.
func TestServerProtocols(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.FixedZone("", 2*3600))
	s.Fill(t, "alice", "INBOX", msg("one", "1"), []string{`\Seen`, "$Label1"}, date)
	s.Fill(t, "alice", "INBOX", []byte("Subject: bare LF\n\nline\n"), nil, time.Time{})
	s.Fill(t, "alice", "INBOX", msg("three", "3"), []string{`\Flagged`}, date)
	s.Fill(t, "alice", "收件箱", msg("cn1", "x"), nil, date)
	s.Fill(t, "alice", "收件箱", msg("cn2", "y"), []string{`\Answered`}, date)
	s.Fill(t, "alice", "R&D", msg("rd", "z"), nil, date)
	s.Fill(t, "alice", "Archive/2019", msg("old", "o"), nil, date)
	s.Fill(t, "alice", "Sent", msg("sent", "s"), []string{`\Seen`}, date)

	want := map[string]int{"INBOX": 3, "收件箱": 2, "R&D": 1, "Archive/2019": 1, "Sent": 1}
	if got := s.Counts(t, "alice"); !maps.Equal(got, want) {
		t.Errorf("Counts(alice) = %v, want %v", got, want)
	}

	dials := []struct {
		name string
		dial func() (*imapclient.Client, error)
	}{
		{"plain", func() (*imapclient.Client, error) { return imapclient.DialInsecure(s.IMAPAddr, nil) }},
		{"starttls", func() (*imapclient.Client, error) {
			return imapclient.DialStartTLS(s.IMAPAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
		}},
		{"imaps", func() (*imapclient.Client, error) {
			return imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
		}},
	}
	for _, d := range dials {
		t.Run(d.name, func(t *testing.T) {
			c, err := d.dial()
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if err := c.Login("alice", "secret").Wait(); err != nil {
				t.Fatalf("login: %v", err)
			}
			got := map[string]int{}
			list, err := c.List("", "*", nil).Collect()
			if err != nil {
				t.Fatalf("LIST: %v", err)
			}
			for _, m := range list {
				if m.Delim != '/' {
					t.Errorf("%q: delimiter %q, want '/'", m.Mailbox, m.Delim)
				}
				if m.Mailbox == "Sent" && !slices.Contains(m.Attrs, imap.MailboxAttrSent) {
					t.Errorf("Sent has attributes %v, want \\Sent among them", m.Attrs)
				}
				if slices.Contains(m.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(m.Attrs, imap.MailboxAttrNonExistent) {
					continue
				}
				st, err := c.Status(m.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
				if err != nil {
					t.Fatalf("STATUS %q: %v", m.Mailbox, err)
				}
				got[m.Mailbox] = int(*st.NumMessages)
			}
			if !maps.Equal(got, want) {
				t.Errorf("IMAP counts = %v, want %v", got, want)
			}
			if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
				t.Fatalf("EXAMINE: %v", err)
			}
			msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true}).Collect()
			if err != nil || len(msgs) != 1 {
				t.Fatalf("FETCH: %v (%d messages)", err, len(msgs))
			}
			if f := msgs[0].Flags; !slices.Contains(f, imap.FlagSeen) || !slices.Contains(f, imap.Flag("$Label1")) {
				t.Errorf("flags = %v, want \\Seen and $Label1", f)
			}
			if !msgs[0].InternalDate.Equal(date) {
				t.Errorf("INTERNALDATE = %v, want %v", msgs[0].InternalDate, date)
			}
		})
	}

	t.Run("pop3", func(t *testing.T) {
		c, err := textproto.Dial("tcp", s.POP3Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if n := pop3Stat(t, c, true); n != 3 {
			t.Errorf("POP3 STAT = %d messages, want 3", n)
		}
	})
	t.Run("pop3s", func(t *testing.T) {
		conn, err := tls.Dial("tcp", s.POP3SAddr, s.TLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		c := textproto.NewConn(conn)
		defer c.Close()
		if n := pop3Stat(t, c, false); n != 3 {
			t.Errorf("POP3S STAT = %d messages, want 3", n)
		}
	})
	t.Run("localhost-name", func(t *testing.T) {
		// the certificate also names localhost
		cfg := s.TLSConfig()
		cfg.ServerName = "localhost"
		conn, err := tls.Dial("tcp", s.IMAPSAddr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	})
}

// pop3Stat checks CAPA, logs in as alice, checks the UIDL format and
// returns the STAT message count.
func pop3Stat(t *testing.T, c *textproto.Conn, plain bool) int {
	t.Helper()
	cmd := func(line string) string {
		t.Helper()
		if line != "" {
			if err := c.PrintfLine("%s", line); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := c.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp, "+OK") {
			t.Fatalf("POP3 %q: %s", line, resp)
		}
		return resp
	}
	cmd("") // greeting
	cmd("CAPA")
	capa, err := c.ReadDotLines()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(capa, "UIDL") || (plain && !slices.Contains(capa, "STLS")) {
		t.Errorf("CAPA = %q, want UIDL (and STLS on the plain port)", capa)
	}
	cmd("USER alice")
	cmd("PASS secret")
	f := strings.Fields(cmd("STAT"))
	// pop3_uidl_format %08Xu%08Xv: UID then UIDVALIDITY, 8 hex digits each
	if u := strings.Fields(cmd("UIDL 1")); len(u) != 3 || len(u[2]) != 16 || !strings.HasPrefix(u[2], "00000001") {
		t.Errorf("UIDL 1 = %q, want +OK 1 00000001<uidvalidity>", u)
	}
	cmd("QUIT")
	if len(f) < 3 {
		t.Fatalf("POP3 STAT: %q", f)
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFillBulk loads 1,000 messages through the Maildir while Dovecot runs
// and checks that IMAP shows them in order with their flags, sizes and
// dates; it also measures Fill (APPEND) for comparison.
func TestFillBulk(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: []User{{"dave", "pw"}}})
	// Dovecot has already indexed the folder: bulk files must still appear.
	s.Fill(t, "dave", "Bulk/收", msg("first", "via APPEND"), nil, time.Time{})

	const n = 1000
	base := time.Date(2015, 6, 1, 12, 0, 0, 0, time.UTC)
	msgs := make([]Message, n)
	for i := range msgs {
		var flags []string
		if i%2 == 0 {
			flags = append(flags, `\Seen`)
		}
		if i%10 == 0 {
			flags = append(flags, "$Label1", `\Flagged`)
		}
		body := strings.Repeat("line of text\n", i%7)
		msgs[i] = Message{
			Raw:          []byte(fmt.Sprintf("Subject: bulk %d\nMessage-ID: <%d@bulk>\n\n%s", i, i, body)),
			Flags:        flags,
			InternalDate: base.Add(time.Duration(i) * time.Minute),
		}
	}
	t0 := time.Now()
	s.FillBulk(t, "dave", "Bulk/收", msgs)
	s.FillBulk(t, "dave", "INBOX", msgs[:10])
	el := time.Since(t0)
	t.Logf("FillBulk: %d messages in %v (%.0f msg/s)", n+10, el, float64(n+10)/el.Seconds())

	t0 = time.Now()
	const nFill = 200
	for i := range nFill {
		s.Fill(t, "dave", "Appended", msg(fmt.Sprint("append ", i), "body"), []string{`\Seen`}, base)
	}
	el = time.Since(t0)
	t.Logf("Fill: %d messages in %v (%.0f msg/s)", nFill, el, nFill/el.Seconds())

	want := map[string]int{"INBOX": 10, "Bulk/收": n + 1, "Appended": nFill}
	if got := s.Counts(t, "dave"); !maps.Equal(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}

	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("dave", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	// An open session sees a folder FillBulk creates and the files it writes.
	if _, err := c.List("", "*", nil).Collect(); err != nil {
		t.Fatal(err)
	}
	s.FillBulk(t, "dave", "Late/Folder", msgs[:3])
	list, err := c.List("", "Late/*", nil).Collect()
	if err != nil || len(list) != 1 || list[0].Mailbox != "Late/Folder" {
		t.Fatalf("LIST Late/* in an open session = %v, %v; want Late/Folder", list, err)
	}
	if st, err := c.Status("Late/Folder", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 3 {
		t.Fatalf("STATUS Late/Folder: %v, %v; want 3 messages", st, err)
	}

	if _, err := c.Select("Bulk/收", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	var all imap.UIDSet
	all.AddRange(2, 0) // UID 1 is the APPENDed one
	got, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("fetched %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		wantSubj := fmt.Sprint("bulk ", i)
		if m.Envelope == nil {
			t.Fatalf("message %d: no ENVELOPE", i)
		}
		if m.UID != imap.UID(i+2) || m.Envelope.Subject != wantSubj {
			t.Fatalf("message %d: UID %d subject %q, want UID %d subject %q", i, m.UID, m.Envelope.Subject, i+2, wantSubj)
		}
		if !m.InternalDate.Equal(msgs[i].InternalDate) {
			t.Errorf("message %d: INTERNALDATE %v, want %v", i, m.InternalDate, msgs[i].InternalDate)
		}
		if m.RFC822Size != int64(crlfSize(msgs[i].Raw)) {
			t.Errorf("message %d: RFC822.SIZE %d, want %d", i, m.RFC822Size, crlfSize(msgs[i].Raw))
		}
		var flags []string
		for _, f := range m.Flags {
			if f != `\Recent` {
				flags = append(flags, string(f))
			}
		}
		wantFlags := slices.Clone(msgs[i].Flags)
		slices.Sort(flags)
		slices.Sort(wantFlags)
		if !slices.Equal(flags, wantFlags) {
			t.Errorf("message %d: flags %v, want %v", i, flags, wantFlags)
		}
	}
}

// TestFolderLifecycle checks that RecreateFolder yields a new, empty
// folder with a new UIDVALIDITY, which IMAP importers must notice.
func TestFolderLifecycle(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{})
	s.CreateFolder(t, "bob", "Projekt/Ärger & Co")
	s.Fill(t, "bob", "Projekt/Ärger & Co", msg("a", "a"), nil, time.Time{})
	s.Fill(t, "bob", "Projekt/Ärger & Co", msg("b", "b"), nil, time.Time{})
	v1 := s.UIDValidity(t, "bob", "Projekt/Ärger & Co")
	s.RecreateFolder(t, "bob", "Projekt/Ärger & Co")
	v2 := s.UIDValidity(t, "bob", "Projekt/Ärger & Co")
	if v1 == v2 {
		t.Errorf("UIDVALIDITY unchanged (%d) after RecreateFolder", v1)
	}
	if got := s.Counts(t, "bob")["Projekt/Ärger & Co"]; got != 0 {
		t.Errorf("recreated folder has %d messages, want 0", got)
	}
	if _, err := os.Stat(filepath.Join(s.Maildir("bob"), ".Projekt.&AMQ-rger &- Co", "cur")); err != nil {
		t.Errorf("Maildir++ directory not where expected: %v", err)
	}
	s.DeleteFolder(t, "bob", "Projekt/Ärger & Co")
	if _, ok := s.Counts(t, "bob")["Projekt/Ärger & Co"]; ok {
		t.Error("folder still listed after DeleteFolder")
	}
	// The harness's own connection must be usable after folder churn,
	// and be replaced when a test kicks the user.
	s.Fill(t, "bob", "INBOX", msg("c", "c"), nil, time.Time{})
	s.Doveadm(t, "kick", "bob")
	s.Fill(t, "bob", "INBOX", msg("d", "d"), nil, time.Time{})
	if got := s.Counts(t, "bob")["INBOX"]; got != 2 {
		t.Errorf("INBOX has %d messages, want 2", got)
	}
}

// TestFolderCounts runs FolderCounts over a hand-written Maildir++ tree and
// checks that the tree is byte-for-byte and name-for-name unchanged.
func TestFolderCounts(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "Maildir")
	files := map[string]string{
		"cur/1000.M1P1.host,S=20:2,S":           "Subject: 1\n\nbody 1\n",
		"cur/1001.M1P1.host:2,":                 "Subject: 2\n\nbody 2\n",
		"new/1002.M1P1.host":                    "Subject: 3\n\nin new/\n",
		".Sent/cur/1003.M1P1.host:2,S":          "Subject: 4\n\nsent\n",
		".Sent/maildirfolder":                   "",
		".&ZTZO9nux-/cur/1004.M1P1.host:2,":     "Subject: 5\n\n收件箱\n",
		".&ZTZO9nux-/new/1005.M1P1.host":        "Subject: 6\n\n收件箱\n",
		".A.B/cur/1006.M1P1.host:2,RS":          "Subject: 7\n\nno parent dir\n",
		".R&-D/maildirfolder":                   "",
		"dovecot-keywords":                      "0 $Label1\n",
		"subscriptions":                         "Sent\n",
		".Archive.&AMQ-rger/cur/1007.M1P1.h:2,": "Subject: 8\n\nx\n",
	}
	dirs := []string{"cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp", ".&ZTZO9nux-/cur", ".&ZTZO9nux-/new",
		".&ZTZO9nux-/tmp", ".A.B/cur", ".A.B/new", ".A.B/tmp", ".R&-D/cur", ".R&-D/new", ".R&-D/tmp",
		".Archive.&AMQ-rger/cur", ".Archive.&AMQ-rger/new", ".Archive.&AMQ-rger/tmp",
		".NoSubdirs"} // a folder with no cur/new/tmp: Dovecot would create them
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, root)

	got := FolderCounts(t, root)
	want := map[string]int{"INBOX": 3, "Sent": 1, "收件箱": 2, "A/B": 1, "R&D": 0, "Archive/Ärger": 1, "NoSubdirs": 0}
	if !maps.Equal(got, want) {
		t.Errorf("FolderCounts = %v, want %v", got, want)
	}
	after := snapshot(t, root)
	if !maps.Equal(before, after) {
		for p, v := range after {
			if before[p] != v {
				t.Errorf("changed or added: %s (%s -> %s)", p, before[p], v)
			}
		}
		for p := range before {
			if _, ok := after[p]; !ok {
				t.Errorf("removed: %s", p)
			}
		}
	}
}

// snapshot maps every path below root to its type, mode, owner-visible
// size and content hash.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x %s", sha256.Sum256(b), fi.ModTime().UTC())
		}
		m[strings.TrimPrefix(p, root)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStopRestart checks that a stopped server refuses connections and a
// restarted one serves the same mail on the same ports.
func TestStopRestart(t *testing.T) {
	t.Parallel()
	s := Start(t, Options{Users: []User{{"erin", "pw"}}})
	s.Fill(t, "erin", "INBOX", msg("before", "x"), nil, time.Time{})
	s.Stop(t)
	if c, err := imapclient.DialInsecure(s.IMAPAddr, nil); err == nil {
		c.Close()
		t.Fatal("IMAP port still accepts after Stop")
	}
	s.Restart(t)
	s.Fill(t, "erin", "INBOX", msg("after", "y"), nil, time.Time{})
	c, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: s.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("erin", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 2 {
		t.Fatalf("STATUS INBOX after restart: %v, %v; want 2 messages", st, err)
	}
}
