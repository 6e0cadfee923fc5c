package imapserver

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// snapshot lists the archive's files (name, size, mtime) and catalog rows
// that a client could try to change.
func snapshot(t *testing.T, f *fixture) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(f.arch.MaildirRoot(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %v %v\n", p, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.arch.DB().QueryContext(context.Background(),
		`SELECT f.account, f.name, f.uidvalidity, f.uidnext, e.uid, e.flags, e.internal_date, e.filename
		FROM folders f LEFT JOIN entries e ON e.folder_id = f.id ORDER BY f.id, e.uid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, n, fl, fn any
		var v, next, uid, d any
		if err := rows.Scan(&a, &n, &v, &next, &uid, &fl, &d, &fn); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, a, n, v, next, uid, fl, d, fn)
	}
	return b.String()
}

// TestReadOnly: every command that would change the archive is refused
// with a clear NO, and nothing changes.
func TestReadOnly(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	before := snapshot(t, f)
	c := dial(t, addr)
	c.login("bob")
	c.transactf("OK", "SELECT work/Tests")
	for _, tc := range []struct{ cmd, want string }{
		{`STORE 1 +FLAGS (\Deleted)`, "NO [NOPERM] The archive is read-only: flags cannot be changed"},
		{`UID STORE 1:* FLAGS.SILENT ()`, "NO [NOPERM] The archive is read-only: flags cannot be changed"},
		{`COPY 1 work/INBOX`, "NO [NOPERM] The archive is read-only: messages cannot be copied"},
		{`UID COPY 1:* home/INBOX`, "NO [NOPERM] The archive is read-only: messages cannot be copied"},
		{`MOVE 1 work/INBOX`, "NO [NOPERM] The archive is read-only: messages cannot be moved"},
		{`UID MOVE 2 work/INBOX`, "NO [NOPERM] The archive is read-only: messages cannot be moved"},
		{`EXPUNGE`, "NO [NOPERM] The archive is read-only: messages cannot be removed"},
		{`UID EXPUNGE 1:*`, "NO [NOPERM] The archive is read-only: messages cannot be removed"},
		{`CREATE work/New`, "NO [NOPERM] The archive is read-only: folders cannot be created"},
		{`DELETE work/Tests`, "NO [NOPERM] The archive is read-only: folders cannot be deleted"},
		{`RENAME work/Tests work/Other`, "NO [NOPERM] The archive is read-only: folders cannot be renamed"},
		{`SUBSCRIBE work/Tests`, "NO [CANNOT] Every folder is always subscribed"},
		{`UNSUBSCRIBE work/Tests`, "NO [CANNOT] Every folder is always subscribed"},
		{"APPEND work/INBOX (\\Seen) {10+}\r\nSubject: x", "NO [NOPERM] The archive is read-only: messages cannot be added"},
	} {
		c.command("%s", tc.cmd)
		if c.last != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, c.last, tc.want)
		}
	}
	// A synchronizing APPEND literal is read (and drained) before the NO.
	c.write("ap APPEND work/INBOX {14}\r\n")
	if l := c.readLine(); l != "+ Ready for literal data" {
		t.Fatalf("append: %q", l)
	}
	c.write("Subject: y\r\n\r\n" + "\r\n") // literal, end of command
	if l := c.readLine(); l != "ap NO [NOPERM] The archive is read-only: messages cannot be added" {
		t.Fatalf("append: %q", l)
	}
	// BODY[] (not PEEK) sets no \Seen; CLOSE works and removes nothing.
	c.transactf("OK", "FETCH 1:* BODY[]")
	c.xuntagged(c.transactf("OK", "FETCH 2 FLAGS"), `* 2 FETCH (UID 2 FLAGS (\Flagged))`)
	c.transactf("OK", "CLOSE")
	c.transactf("OK", "SELECT work/Tests")
	c.xuntagged(c.transactf("OK", "SEARCH ALL"), "* SEARCH 1 2")
	c.transactf("OK", "LOGOUT")
	if after := snapshot(t, f); after != before {
		t.Fatal("the archive changed")
	}
}
