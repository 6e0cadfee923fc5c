package pop3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/pop3test"
)

// importersReport is the report type, shorter.
type importersReport = importers.Report

const (
	testUser = "alice"
	testPass = "secret"
	testAcct = "pop"
)

// msg builds a message with a Received header dated rcv and a Date header
// dated date (either may be zero: no such header).
func msg(i int, rcv, date time.Time, body string) []byte {
	var b strings.Builder
	if !rcv.IsZero() {
		fmt.Fprintf(&b, "Received: from mx.example.net (mx.example.net [192.0.2.1])\r\n\tby pop.example.org with ESMTPS id X%d\r\n\tfor <alice@example.org>; %s\r\n", i, rcv.Format(time.RFC1123Z+" (MST)"))
		fmt.Fprintf(&b, "Received: from sender.example.net\r\n\tby mx.example.net; %s\r\n", rcv.Add(-time.Hour).Format(time.RFC1123Z))
	}
	fmt.Fprintf(&b, "From: Sender %d <s%d@example.net>\r\nTo: alice@example.org\r\nSubject: message %d\r\nMessage-ID: <m%d@example.net>\r\n", i, i, i, i)
	if !date.IsZero() {
		fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

var t0 = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// mailbox makes n ordinary messages, with dot-lines to stuff.
func mailbox(n int) []pop3test.Message {
	out := make([]pop3test.Message, n)
	for i := range out {
		body := fmt.Sprintf("Hello %d.\r\n.\r\n..two dots\r\n.leading dot\r\nend\r\n", i)
		out[i] = pop3test.Message{Data: msg(i, t0.Add(time.Duration(i+1)*time.Hour), t0, body)}
	}
	return out
}

func newServer(t *testing.T, msgs []pop3test.Message, setup func(*pop3test.Server)) *pop3test.Server {
	t.Helper()
	s := pop3test.NewUnstartedServer(map[string]string{testUser: testPass}, map[string][]pop3test.Message{testUser: msgs})
	if setup != nil {
		setup(s)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// importOnce runs one import of srv into a, as the command does: known
// refs, Import, final commit. mod adjusts the configuration.
func importOnce(t *testing.T, a *archive.Archive, srv *pop3test.Server, mod func(*Config)) (*Result, *importers.Report, error) {
	t.Helper()
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(srv)
	known, err := a.SourceRefs(ctx, SourceName(cfg.Host, cfg.User))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Known = known
	if mod != nil {
		mod(&cfg)
	}
	rep := &importers.Report{}
	res, err := Import(ctx, cfg, w, rep)
	if cerr := w.Commit(context.Background()); cerr != nil {
		t.Fatalf("commit: %v", cerr)
	}
	return res, rep, err
}

func baseConfig(srv *pop3test.Server) Config {
	return Config{
		Addr: srv.Addr, Host: "pop.test", User: testUser, Password: testPass,
		Dial:       Options{Security: Plain, Timeout: 5 * time.Second},
		Account:    testAcct,
		RetryDelay: 10 * time.Millisecond,
	}
}

// entry is one catalog entry of the test account.
type entry struct {
	Folder string
	UID    uint32
	ID     string
	Date   int64
	Path   string
}

func entries(t *testing.T, a *archive.Archive) []entry {
	t.Helper()
	rows, err := a.DB().Query(`SELECT f.name, e.uid, lower(hex(m.hash)), e.internal_date, e.filename
		FROM entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message
		WHERE f.account = ? ORDER BY f.name, e.uid`, testAcct)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var e entry
		var name string
		if err := rows.Scan(&e.Folder, &e.UID, &e.ID, &e.Date, &name); err != nil {
			t.Fatal(err)
		}
		dir, err := archive.FolderDir(e.Folder)
		if err != nil {
			t.Fatal(err)
		}
		e.Path = filepath.Join(a.MaildirRoot(), testAcct, dir, "cur", name)
		out = append(out, e)
	}
	return out
}

// crlfID is mailark's identity of raw, computed here independently.
func crlfID(raw []byte) string {
	var norm []byte
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			norm = append(norm, '\r')
		}
		norm = append(norm, c)
	}
	sum := sha256.Sum256(norm)
	return hex.EncodeToString(sum[:])
}

// checkArchived fails unless the archive holds exactly msgs (by content,
// byte for byte), each once.
func checkArchived(t *testing.T, a *archive.Archive, msgs []pop3test.Message) {
	t.Helper()
	es := entries(t, a)
	byID := map[string]entry{}
	for _, e := range es {
		if _, dup := byID[e.ID]; dup {
			t.Errorf("message %s stored twice", e.ID)
		}
		byID[e.ID] = e
	}
	want := map[string]bool{}
	for _, m := range msgs {
		id := crlfID(m.Data)
		want[id] = true
		e, ok := byID[id]
		if !ok {
			t.Errorf("message %s (%q...) not archived", m.UIDL, firstLine(m.Data))
			continue
		}
		got, err := os.ReadFile(e.Path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(m.Data) {
			t.Errorf("message %s archived with other bytes (%d, want %d)", m.UIDL, len(got), len(m.Data))
		}
	}
	for id := range byID {
		if !want[id] {
			t.Errorf("archive holds an unexpected message %s", id)
		}
	}
	archive.TestVerify(t, a)
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// commands returns the server's log without the session numbers, only the
// verbs given.
func commands(srv *pop3test.Server, verbs ...string) []string {
	var out []string
	for _, c := range srv.Commands() {
		_, cmd, _ := strings.Cut(c, " ")
		verb, _, _ := strings.Cut(cmd, " ")
		for _, v := range verbs {
			if verb == v {
				out = append(out, cmd)
			}
		}
	}
	sort.Strings(out)
	return out
}
