package imap

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/tlsopt"
)

// Server-side errors (issue #9): each test checks that the other folders
// and messages are archived, nothing partial is stored, the report names
// the folder or UID with the server's answer, and a rerun without the
// fault completes the job.

// findProblem returns the first problem at where, or fails the test.
func findProblem(t *testing.T, rep *importers.Report, where string) archive.RunProblem {
	t.Helper()
	for _, p := range rep.Problems {
		if p.Where == where {
			return p
		}
	}
	t.Fatalf("no problem at %q in %+v", where, rep.Problems)
	return archive.RunProblem{}
}

func wantText(t *testing.T, what, got string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Errorf("%s %q does not contain %q", what, got, p)
		}
	}
}

// TestServerErrSelectRefused: EXAMINE answered NO or BAD fails that folder
// only, stores nothing of it and leaves no checkpoint; a rerun imports it.
func TestServerErrSelectRefused(t *testing.T) {
	for _, typ := range []imap.StatusResponseType{imap.StatusResponseTypeNo, imap.StatusResponseTypeBad} {
		t.Run(string(typ), func(t *testing.T) {
			ms := startMem(t, memOptions{})
			ms.create("Broken")
			ms.create("Other")
			want := fill(ms, map[string]int{"INBOX": 3, "Broken": 4, "Other": 2}, 300)
			ms.set(func() {
				ms.selectErr = map[string]*imap.Error{"Broken": {Type: typ, Text: "simulated: mailbox is locked"}}
			})
			a := archive.TestArchive(t)
			o := testOptions(t, ms.Addr)

			sum, rep := mustImport(t, a, o)
			if rep.New != 5 || rep.Failed != 1 {
				t.Errorf("counts %+v, want 5 new and the folder failed", rep.RunCounts)
			}
			p := findProblem(t, rep, "imap:Broken")
			if !p.Fatal {
				t.Errorf("problem %+v is not marked failed", p)
			}
			wantText(t, "problem", p.Error, "examining Broken", string(typ), "simulated: mailbox is locked")
			fr := folderReport(t, sum, "Broken")
			wantText(t, "Broken note", fr.Note, "examining Broken", string(typ))
			if fr.Failed != 1 || fr.New != 0 {
				t.Errorf("Broken report %+v", fr)
			}
			if n := len(catalog(t, a, AccountName(testUser))["Broken"]); n != 0 {
				t.Errorf("%d messages of Broken archived", n)
			}
			if v := state(t, a, "memserver", "Broken", keyLastUID); v != "" {
				t.Errorf("Broken has a checkpoint (lastuid %q) although it was never read", v)
			}

			ms.set(func() { ms.selectErr = nil })
			_, rep = mustImport(t, a, o)
			if rep.New != 4 || rep.Failed != 0 || len(rep.Problems) != 0 {
				t.Errorf("rerun %+v %+v, want the 4 messages of Broken", rep.RunCounts, rep.Problems)
			}
			checkArchive(t, a, want)
		})
	}
}

// TestServerErrFetchRefused: a UID FETCH answered NO or BAD for some UIDs
// fails exactly those (isolated one by one), each named with the server's
// answer, and the rest of the batch is archived; a rerun retries them.
// (TestFetchNOFailsOneMessage covers NO over several reruns.)
func TestServerErrFetchRefused(t *testing.T) {
	for _, typ := range []imap.StatusResponseType{imap.StatusResponseTypeNo, imap.StatusResponseTypeBad} {
		t.Run(string(typ), func(t *testing.T) {
			ms := startMem(t, memOptions{})
			want := fill(ms, map[string]int{"INBOX": 8}, 300)
			e := &imap.Error{Type: typ, Text: "simulated: cannot read message"}
			ms.set(func() { ms.fetchErr = map[string]map[imap.UID]*imap.Error{"INBOX": {3: e, 6: e}} })
			a := archive.TestArchive(t)
			o := testOptions(t, ms.Addr)

			sum, rep := mustImport(t, a, o)
			if rep.New != 6 || rep.Failed != 2 {
				t.Fatalf("counts %+v, want 6 new, 2 failed", rep.RunCounts)
			}
			for _, where := range []string{"imap:INBOX/uid 3", "imap:INBOX/uid 6"} {
				p := findProblem(t, rep, where)
				if !p.Fatal {
					t.Errorf("%s not marked failed", where)
				}
				wantText(t, where, p.Error, "fetch uid "+strings.TrimPrefix(where, "imap:INBOX/uid "), string(typ), "cannot read message")
			}
			if fr := folderReport(t, sum, "INBOX"); fr.Failed != 2 || fr.New != 6 || len(fr.Failures) != 2 {
				t.Errorf("INBOX report %+v", fr)
			}
			if n := len(catalog(t, a, AccountName(testUser))["INBOX"]); n != 6 {
				t.Errorf("%d messages archived, want 6", n)
			}
			if got := state(t, a, "memserver", "INBOX", keyFailed); got != "3,6" {
				t.Errorf("failed state %q, want 3,6", got)
			}
			if n := tmpFiles(t, a, AccountName(testUser)); n != 0 {
				t.Errorf("%d files left in tmp/", n)
			}

			ms.set(func() { ms.fetchErr = nil })
			_, rep = mustImport(t, a, o)
			if rep.New != 2 || rep.Failed != 0 || len(rep.Problems) != 0 {
				t.Errorf("rerun %+v %+v, want the 2 refused messages", rep.RunCounts, rep.Problems)
			}
			if got := state(t, a, "memserver", "INBOX", keyFailed); got != "" {
				t.Errorf("failed state %q after the rerun, want empty", got)
			}
			checkArchive(t, a, want)
		})
	}
}

// TestServerErrFolderDeletedAfterList: a folder deleted between LIST and
// EXAMINE (the memserver answers NO [NONEXISTENT]) is reported as gone
// and the others are imported; the rerun no longer sees it.
func TestServerErrFolderDeletedAfterList(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.create("Doomed")
	want := fill(ms, map[string]int{"INBOX": 3, "Doomed": 2}, 300)
	delete(want, "Doomed")
	ms.set(func() {
		ms.afterList = func() {
			if err := ms.user.Delete("Doomed"); err != nil {
				t.Errorf("deleting Doomed: %v", err)
			}
		}
	})
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)

	_, rep := mustImport(t, a, o)
	if rep.New != 3 || rep.Failed != 1 {
		t.Errorf("counts %+v, want 3 new, the folder failed", rep.RunCounts)
	}
	p := findProblem(t, rep, "imap:Doomed")
	wantText(t, "problem", p.Error, "examining Doomed", "no longer exists on the server")
	if !p.Fatal {
		t.Errorf("problem %+v not marked failed", p)
	}
	checkArchive(t, a, want)

	sum, rep := mustImport(t, a, o)
	if rep.Failed != 0 || len(rep.Problems) != 0 || rep.New != 0 {
		t.Errorf("rerun %+v %+v", rep.RunCounts, rep.Problems)
	}
	for _, fr := range sum.Folders {
		if fr.Folder == "Doomed" {
			t.Errorf("rerun still lists Doomed")
		}
	}
}

// expungeUID deletes one message through another connection, as a second
// mail client would.
func expungeUID(addr, mailbox string, uid imap.UID) error {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		return err
	}
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		return err
	}
	flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}
	if err := c.Store(imap.UIDSetNum(uid), flags, nil).Close(); err != nil {
		return err
	}
	if err := c.Expunge().Close(); err != nil {
		return err
	}
	return c.Logout().Wait()
}

// TestServerErrExpungedBeforeFetch: a message expunged by another client
// between the UID listing and the UID FETCH of the bodies (the server
// answers with fewer messages than asked, and OK) is a warning naming the
// UID, not a failure; the checkpoint passes it and the rerun is clean.
func TestServerErrExpungedBeforeFetch(t *testing.T) {
	ms := startMem(t, memOptions{})
	want := fill(ms, map[string]int{"INBOX": 6}, 300)
	var gone []byte
	ms.set(func() {
		ms.beforeBody = func(mailbox string) {
			raw, err := fetchRaw(ms.Addr, mailbox, 4)
			if err == nil {
				gone = raw
				err = expungeUID(ms.Addr, mailbox, 4)
			}
			if err != nil {
				t.Errorf("expunging uid 4: %v", err)
			}
		}
	})
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)
	o.Connections = 1

	sum, rep := mustImport(t, a, o)
	if gone == nil {
		t.Fatal("uid 4 was not expunged")
	}
	delete(want["INBOX"], idHex(gone))
	p := findProblem(t, rep, "imap:INBOX")
	if p.Fatal || rep.Failed != 0 || rep.New != 5 {
		t.Errorf("problem %+v, counts %+v: want a warning, 5 new", p, rep.RunCounts)
	}
	wantText(t, "warning", p.Error, "uid 4:", "expunged on the server before it could be fetched")
	if fr := folderReport(t, sum, "INBOX"); fr.Gone != 1 || fr.New != 5 || !strings.Contains(fr.Note, "1 messages expunged") {
		t.Errorf("INBOX report %+v", fr)
	}
	if v := state(t, a, "memserver", "INBOX", keyLastUID); v != "6" {
		t.Errorf("lastuid %q, want 6", v)
	}
	checkArchive(t, a, want)

	_, rep = mustImport(t, a, o)
	if rep.New+rep.Existing+rep.Failed != 0 || len(rep.Problems) != 0 {
		t.Errorf("rerun %+v %+v", rep.RunCounts, rep.Problems)
	}
}

// fetchRaw reads one message's bytes through another connection.
func fetchRaw(addr, mailbox string, uid imap.UID) ([]byte, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		return nil, err
	}
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, err
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("fetching uid %d: %v (%d messages)", uid, err, len(msgs))
	}
	return msgs[0].FindBodySection(sec), nil
}

// TestServerErrUIDValidityWarning: a UIDVALIDITY change between runs is a
// warning in the run report naming the folder and both values, besides
// the folder's note (TestUIDValidityChange checks the rescan itself).
func TestServerErrUIDValidityWarning(t *testing.T) {
	ms := startMem(t, memOptions{})
	want := fill(ms, map[string]int{"INBOX": 2}, 300)
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)
	mustImport(t, a, o)
	old := state(t, a, "memserver", "INBOX", keyValidity)
	ms.recreate("INBOX")
	for _, s := range want["INBOX"] {
		ms.add("INBOX", s.raw, strings.Fields(s.flags), s.date)
	}
	sum, rep := mustImport(t, a, o)
	fr := folderReport(t, sum, "INBOX")
	p := findProblem(t, rep, "imap:INBOX")
	if p.Fatal || rep.Failed != 0 || rep.Existing != 2 || rep.New != 0 {
		t.Errorf("problem %+v, counts %+v: want a warning and 2 already archived", p, rep.RunCounts)
	}
	wantText(t, "warning", p.Error, "UIDVALIDITY changed from "+old, "read again from UID 1")
	if !fr.UIDValidityReset || fr.Note != p.Error {
		t.Errorf("folder report %+v", fr)
	}
	checkArchive(t, a, want)
}

// hookConn runs onWrite before each write of the client, so that a test
// can change the server between two commands.
type hookConn struct {
	net.Conn
	onWrite func(p []byte)
}

func (c *hookConn) Write(p []byte) (int, error) {
	c.onWrite(p)
	return c.Conn.Write(p)
}

// TestDovecotServerErrDeletedAndExpunged produces the two races for real
// on Dovecot, from inside the importer's own connection: a folder deleted
// between LIST and its EXAMINE, and a message expunged between the UID
// listing and the UID FETCH of the bodies.
func TestDovecotServerErrDeletedAndExpunged(t *testing.T) {
	s := dovecottest.Start(t, dovecottest.Options{})
	doveadm, err := exec.LookPath("doveadm")
	if err != nil {
		doveadm = "/usr/bin/doveadm"
	}
	// Not s.Doveadm: that fails the test with t.Fatal, which must not run
	// on the importer's goroutine.
	run := func(args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, doveadm, append([]string{"-c", s.Config}, args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("doveadm %v: %v\n%s", args, err, out)
		}
	}
	var inbox [][]byte
	for i := range 6 {
		m := testMessage(i, "INBOX", 300)
		inbox = append(inbox, m)
		s.Fill(t, "alice", "INBOX", m, nil, time.Unix(1500000000+int64(i), 0))
	}
	for i := range 2 {
		s.Fill(t, "alice", "Doomed", testMessage(100+i, "Doomed", 300), nil, time.Unix(1500000000, 0))
	}
	s.Fill(t, "alice", "Keep", testMessage(200, "Keep", 300), nil, time.Unix(1500000000, 0))

	var mu sync.Mutex
	var selected string
	deleted, expunged := false, false
	o := Options{Addr: s.IMAPAddr, TLS: tlsopt.None, User: "alice", Password: s.Password("alice"),
		Connections: 1, Logger: testLogger(t), RetryDelay: 10 * time.Millisecond}
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &hookConn{Conn: c, onWrite: func(p []byte) {
			mu.Lock()
			defer mu.Unlock()
			if _, after, ok := bytes.Cut(p, []byte(" EXAMINE ")); ok {
				selected = strings.Trim(strings.TrimSpace(string(after)), `"`)
			}
			switch {
			case selected == "Doomed" && !deleted:
				deleted = true
				run("mailbox", "delete", "-s", "-u", "alice", "Doomed")
			case selected == "INBOX" && !expunged && bytes.Contains(p, []byte(" UID FETCH ")) && bytes.Contains(p, []byte("BODY.PEEK[]")):
				expunged = true
				run("expunge", "-u", "alice", "mailbox", "INBOX", "uid", "3")
			}
		}}, nil
	}
	a := archive.TestArchive(t)
	sum, rep := mustImport(t, a, o)
	if !deleted || !expunged {
		t.Fatalf("the races were not staged (deleted %v, expunged %v)", deleted, expunged)
	}
	t.Logf("problems: %+v", rep.Problems)

	p := findProblem(t, rep, "imap:Doomed")
	if !p.Fatal {
		t.Errorf("deleted folder: %+v not marked failed", p)
	}
	wantText(t, "deleted folder", p.Error, "examining Doomed", "no longer exists on the server")

	p = findProblem(t, rep, "imap:INBOX")
	if p.Fatal {
		t.Errorf("expunged message: %+v marked failed", p)
	}
	wantText(t, "expunged message", p.Error, "uid 3", "expunged on the server before it could be fetched")
	fr := folderReport(t, sum, "INBOX")
	if fr.New != 5 || fr.Gone != 1 || fr.Failed != 0 {
		t.Errorf("INBOX report %+v, want 5 new, 1 gone", fr)
	}
	wantText(t, "INBOX note", fr.Note, "1 messages expunged on the server")
	if rep.New != 6 || rep.Failed != 1 {
		t.Errorf("counts %+v, want 6 new (INBOX 5, Keep 1), 1 failed (Doomed)", rep.RunCounts)
	}
	got := catalog(t, a, "alice")
	if _, ok := got["INBOX"][idHex(inbox[2])]; ok || len(got["INBOX"]) != 5 || len(got["Doomed"]) != 0 || len(got["Keep"]) != 1 {
		t.Errorf("catalog: INBOX %d (the expunged one: %v), Doomed %d, Keep %d", len(got["INBOX"]), ok, len(got["Doomed"]), len(got["Keep"]))
	}
	src := StateSource("127.0.0.1", "alice", "INBOX")
	v, _, err1 := a.State(context.Background(), src, keyLastUID)
	f, _, err2 := a.State(context.Background(), src, keyFailed)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if v != "6" || f != "" {
		t.Errorf("INBOX checkpoint lastuid %q failed %q, want 6 and none", v, f)
	}
	archive.TestVerify(t, a)

	// The rerun: nothing left to do, nothing to report.
	o.Dial = nil
	_, rep = mustImport(t, a, o)
	if rep.New+rep.Linked+rep.Existing+rep.Failed != 0 || len(rep.Problems) != 0 {
		t.Errorf("rerun %+v %+v", rep.RunCounts, rep.Problems)
	}
}
