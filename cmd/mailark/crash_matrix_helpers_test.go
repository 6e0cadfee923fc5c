package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/postfixtest"
	"github.com/mailark/mailark/internal/testcorpus"
)

// Sizes of the matrix's sources: enough that each run lasts about a second
// or more on the CI machine, so that kills land mid-run, and few enough
// that the short form stays within its budget.
const (
	crashImportMessages = 300
	crashExportMessages = 200
	// crashBatch makes imports commit every few dozen messages, so that
	// kills land between commits rather than before the first one.
	crashBatch = "MAILARK_BATCH_MESSAGES=25"
	crashPWVar = "MAILARK_CRASH_PW"
)

func crashCommands() []crashCommand {
	return []crashCommand{
		{"import imap", crashImportIMAP},
		{"import pop3", crashImportPOP3},
		{"import mbox", crashImportMbox},
		{"export imap", crashExportIMAP},
		{"export smtp", crashExportSMTP},
	}
}

// crashArchive is a run of an import into a fresh archive.
func crashArchive(t *testing.T, args ...string) crashRun {
	dir := filepath.Join(t.TempDir(), "archive")
	return crashRun{
		archive:   dir,
		args:      args,
		env:       []string{crashBatch},
		committed: func() bool { return catalogCount(dir, `SELECT count(*) FROM entries`) > 0 },
		state:     func(t *testing.T) map[string]int { return archiveState(t, dir) },
	}
}

// crashImportIMAP: 'import imap' of alice's folders on a private Dovecot;
// the server is only read, so every run reads the same mail.
func crashImportIMAP(t *testing.T, _ int) func(*testing.T, int) crashRun {
	s := dovecottest.Start(t, dovecottest.Options{})
	byFolder := map[string][]dovecottest.Message{}
	var order []string
	for _, m := range corpus(t, crashImportMessages, 91) {
		if byFolder[m.Folder] == nil {
			order = append(order, m.Folder)
		}
		byFolder[m.Folder] = append(byFolder[m.Folder], dovecottest.Message{Raw: m.Raw, Flags: m.Flags, InternalDate: m.InternalDate})
	}
	for _, f := range order {
		s.FillBulk(t, "alice", f, byFolder[f])
	}
	host, port, _ := strings.Cut(s.IMAPAddr, ":")
	return func(t *testing.T, _ int) crashRun {
		r := crashArchive(t, "import", "imap", "--host", host, "--port", port, "--tls-ca", s.CAFile,
			"--user", "alice", "--password-env", crashPWVar)
		r.env = append(r.env, crashPWVar+"="+s.Password("alice"))
		return r
	}
}

// crashImportPOP3: 'import pop3 --delete', each run from a maildrop of
// its own holding the same messages (--delete empties it); --account
// makes the archives comparable across users.
func crashImportPOP3(t *testing.T, kills int) func(*testing.T, int) crashRun {
	users := []dovecottest.User{{Name: "ref", Password: "secret"}}
	for i := range kills {
		users = append(users, dovecottest.User{Name: fmt.Sprintf("k%d", i), Password: "secret"})
	}
	s := dovecottest.Start(t, dovecottest.Options{Users: users})
	msgs := corpus(t, crashImportMessages, 92)
	dm := make([]dovecottest.Message, len(msgs))
	for i, m := range msgs {
		dm[i] = dovecottest.Message{Raw: m.Raw, InternalDate: m.InternalDate}
	}
	for _, u := range users {
		s.FillBulk(t, u.Name, "INBOX", dm)
	}
	host, port, _ := strings.Cut(s.POP3Addr, ":")
	return func(t *testing.T, i int) crashRun {
		user := crashUser(i)
		r := crashArchive(t, "import", "pop3", "--host", host, "--port", port, "--tls-ca", s.CAFile,
			"--user", user, "--password-env", crashPWVar, "--account", "mail", "--delete")
		r.env = append(r.env, crashPWVar+"="+s.Password(user))
		r.check = func(t *testing.T) string {
			if n := s.Counts(t, user)["INBOX"]; n != 0 {
				return fmt.Sprintf("%d messages left in the maildrop after --delete", n)
			}
			return ""
		}
		return r
	}
}

// crashUser names run i's user on the target (-1: the reference).
func crashUser(i int) string {
	if i < 0 {
		return "ref"
	}
	return fmt.Sprintf("k%d", i)
}

// crashImportMbox: 'import mbox' of one file.
func crashImportMbox(t *testing.T, _ int) func(*testing.T, int) crashRun {
	var msgs []*testcorpus.Message
	for _, m := range corpus(t, crashImportMessages, 93) {
		if bytes.HasSuffix(m.Raw, []byte("\n")) { // mbox adds a final newline: another message
			msgs = append(msgs, m)
		}
	}
	path := filepath.Join(t.TempDir(), "all.mbox")
	writeMbox(t, path, msgs)
	return func(t *testing.T, _ int) crashRun {
		return crashArchive(t, "import", "mbox", path, "--account", "mbox")
	}
}

// crashSourceArchive is the archive the exports read: the corpus (no odd
// messages: those are refused by IMAP and SMTP, which the export tests
// cover) in account "work", indexed so that verify is clean. The runs
// share it; each writes receipts of its own target only.
func crashSourceArchive(t *testing.T, seed int64) string {
	dir := exportArchive(t, exportertest.Corpus(t, crashExportMessages, seed, false))
	mustRun(t, dir, "reindex")
	return dir
}

// crashExportIMAP: 'export imap' of the whole archive, each run into a
// Dovecot user of its own.
func crashExportIMAP(t *testing.T, kills int) func(*testing.T, int) crashRun {
	users := []dovecottest.User{{Name: "ref", Password: "secret"}}
	for i := range kills {
		users = append(users, dovecottest.User{Name: crashUser(i), Password: "secret"})
	}
	s := dovecottest.Start(t, dovecottest.Options{Users: users})
	dir := crashSourceArchive(t, 94)
	host, port, _ := strings.Cut(s.IMAPAddr, ":")
	return func(t *testing.T, i int) crashRun {
		user := crashUser(i)
		return crashRun{
			archive: dir,
			args: []string{"export", "imap", "--host", host, "--port", port, "--tls-ca", s.CAFile,
				"--user", user, "--password-env", crashPWVar},
			env: []string{crashPWVar + "=" + s.Password(user)},
			committed: func() bool {
				return catalogCount(dir, `SELECT count(*) FROM receipts WHERE user = ?`, user) > 0
			},
			state: func(t *testing.T) map[string]int {
				out := map[string]int{}
				for mbox, ids := range targetIDs(t, s.IMAPAddr, user, s.Password(user)) {
					for id, n := range ids {
						out[mbox+"\x00"+id.String()] += n
					}
				}
				return out
			},
		}
	}
}

// crashExportSMTP: 'export smtp' of the whole archive into a private
// Postfix. Every run delivers into the same Maildir, each with an envelope
// sender of its own, which Postfix records as Return-Path.
func crashExportSMTP(t *testing.T, _ int) func(*testing.T, int) crashRun {
	pf := postfixtest.Start(t)
	dir := crashSourceArchive(t, 95)
	host, port, _ := strings.Cut(pf.Addr, ":")
	box := &postfixBox{pf: pf, seen: map[string]postfixFile{}}
	return func(t *testing.T, i int) crashRun {
		from := crashUser(i) + "@crash.example.org"
		return crashRun{
			archive: dir,
			args: []string{"export", "smtp", "--host", host, "--port", port, "--tls", "none",
				"--from", from, "--to", "sink@example.org"},
			committed: func() bool {
				return catalogCount(dir, `SELECT count(*) FROM receipts WHERE user = ?`, from) > 0
			},
			state: func(t *testing.T) map[string]int { return box.state(t, from) },
			uncertain: func(t *testing.T, rerunStderr string) map[string]bool {
				// The kill landed between the mark and the receipt: the
				// message was sent (after the dot) or not (before it), and
				// the rerun must report it rather than send it again.
				ids := sendingMarks(t, dir, from)
				if len(ids) > 0 {
					t.Logf("%s: %d message(s) marked as being sent by a killed run, not sent again", from, len(ids))
					if !strings.Contains(rerunStderr, "delivery uncertain") {
						t.Errorf("%s: %d message(s) marked as being sent, but the rerun did not report them as uncertain:\n%s", from, len(ids), rerunStderr)
					}
				}
				return ids
			},
		}
	}
}

// sendingMarks returns the IDs (hex) of the messages marked as being
// sent for from, keys as postfixBox.state gives them.
func sendingMarks(t *testing.T, dir, from string) map[string]bool {
	t.Helper()
	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rows, err := a.DB().Query(`SELECT message FROM receipts WHERE user = ? AND how = 'sending'`, from)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[hex.EncodeToString(id)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// postfixBox reads what Postfix delivered, once per file.
type postfixBox struct {
	pf   *postfixtest.Server
	mu   sync.Mutex
	seen map[string]postfixFile // by file name (new/ and cur/ alike)
}

type postfixFile struct{ from, id string }

// state waits until Postfix's queue is empty (it delivers after its 250)
// and returns the IDs of the messages delivered with envelope sender from.
func (b *postfixBox) state(t *testing.T, from string) map[string]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for n := postfixQueued(t, b.pf); n > 0; n = postfixQueued(t, b.pf) {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still in Postfix's queue after 60s (see %s)", n, b.pf.LogFile)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(b.pf.Maildir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			name := strings.SplitN(e.Name(), ":", 2)[0]
			if _, ok := b.seen[name]; ok {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(b.pf.Maildir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			added, msg, ok := postfixtest.Body(raw)
			if !ok {
				t.Fatalf("delivered file %s does not start with Postfix's headers", e.Name())
			}
			// "Return-Path: <k0@crash.example.org>"
			_, rp, _ := strings.Cut(added[0], "<")
			rp, _, _ = strings.Cut(rp, ">")
			b.seen[name] = postfixFile{from: rp, id: archive.Sum(msg).String()}
		}
	}
	out := map[string]int{}
	for _, f := range b.seen {
		if f.from == from {
			out[f.id]++
		}
	}
	return out
}

// postfixQueued counts the messages in Postfix's queue directories.
func postfixQueued(t *testing.T, pf *postfixtest.Server) int {
	n := 0
	for _, q := range []string{"maildrop", "incoming", "active", "deferred", "hold"} {
		filepath.WalkDir(filepath.Join(pf.Dir, "spool", q), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return nil
		})
	}
	return n
}

// archiveState is an archive's message set: each catalog entry
// ("entry", account/folder, ID) and each message file ("file", its
// directory, ID), so that both a catalog entry twice and a file the
// catalog does not count show.
func archiveState(t *testing.T, dir string) map[string]int {
	t.Helper()
	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rows, err := a.DB().Query(`SELECT f.account, f.name, m.hash
		FROM entries e JOIN folders f ON f.id = e.folder_id JOIN messages m ON m.id = e.message`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var acct, folder string
		var hash []byte
		if err := rows.Scan(&acct, &folder, &hash); err != nil {
			t.Fatal(err)
		}
		out["entry\x00"+acct+"/"+folder+"\x00"+hex.EncodeToString(hash)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "maildir")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		if _, id, _, perr := archive.ParseFileName(d.Name()); perr == nil {
			out["file\x00"+rel+"\x00"+id.String()]++
		} else {
			out["file\x00"+rel+"\x00"+d.Name()]++ // not a message file: shows as a difference
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// catalogCount runs a count query on the catalog of an archive that another
// process may be writing; 0 when there is none yet or it cannot be read.
func catalogCount(dir, query string, args ...any) int {
	if _, err := os.Stat(filepath.Join(dir, "catalog.db")); err != nil {
		return 0
	}
	a, err := archive.Open(context.Background(), dir, archive.Options{ReadOnly: true})
	if err != nil {
		return 0 // being created right now
	}
	defer a.Close()
	var n int
	if err := a.DB().QueryRow(query, args...).Scan(&n); err != nil {
		return 0
	}
	return n
}
