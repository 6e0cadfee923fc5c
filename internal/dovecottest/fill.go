package dovecottest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Message is one message for FillBulk.
type Message struct {
	Raw []byte
	// Flags are IMAP flags: \Seen \Answered \Flagged \Deleted \Draft
	// (case-insensitive) and keywords such as $Label1 or Junk.
	Flags []string
	// InternalDate becomes IMAP INTERNALDATE; the zero value means now.
	InternalDate time.Time
}

// Fill stores one message in the user's folder as an IMAP APPEND does, over
// a loopback connection kept open per user: Dovecot assigns the next UID and
// records flags (keywords included) and the internal date (zero: now). A
// missing folder is created and subscribed. About 1,000 messages per second;
// use FillBulk for more. Dovecot serves bodies with CRLF line endings
// whatever raw uses, but its file in the Maildir has bare LFs (Dovecot's
// mail_save_crlf=no); FillBulk's files hold raw as given.
func (s *Server) Fill(t testing.TB, user, folder string, raw []byte, flags []string, internalDate time.Time) {
	t.Helper()
	if err := s.fill(user, folder, raw, flags, internalDate); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) fill(user, folder string, raw []byte, flags []string, date time.Time) error {
	if folder == "" || strings.ContainsAny(folder, "\r\n\x00") {
		return fmt.Errorf("dovecottest: Fill: bad folder name %q", folder)
	}
	for _, f := range flags {
		if f == "" || strings.ContainsAny(f, " ()[]{}\"%*\r\n") || strings.EqualFold(f, `\Recent`) {
			return fmt.Errorf("dovecottest: Fill %s/%s: flag %q cannot be stored", user, folder, f)
		}
	}
	cmd := "APPEND " + imapQuote(encodeMUTF7(folder))
	if len(flags) > 0 {
		cmd += " (" + strings.Join(flags, " ") + ")"
	}
	if !date.IsZero() {
		cmd += ` "` + date.Format("02-Jan-2006 15:04:05 -0700") + `"`
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st, text, err := s.appendLocked(user, folder, cmd, raw)
	if err != nil {
		return fmt.Errorf("dovecottest: Fill %s/%s: %w", user, folder, err)
	}
	if st != "OK" {
		return fmt.Errorf("dovecottest: Fill %s/%s: APPEND answered %s %s", user, folder, st, text)
	}
	return nil
}

// appendLocked runs the APPEND on the user's cached connection; s.mu is
// held. A cached connection may have been closed under us (doveadm kick,
// Restart): an I/O error on it is retried once on a fresh one. Dovecot
// closes such a connection between commands, so nothing was stored.
func (s *Server) appendLocked(user, folder, cmd string, raw []byte) (status, text string, err error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := s.connLocked(user)
		if err != nil {
			return "", "", err
		}
		status, text, err = c.command(cmd, raw)
		if err == nil && status == "NO" && strings.HasPrefix(text, "[TRYCREATE]") {
			if err = createOver(c, folder); err == nil {
				status, text, err = c.command(cmd, raw)
			}
		}
		if err == nil {
			return status, text, nil
		}
		// the connection state is unknown: do not reuse it
		c.conn.Close()
		delete(s.conns, user)
		if !reused || attempt > 0 {
			return "", "", err
		}
	}
}

func createOver(c *imapConn, folder string) error {
	name := imapQuote(encodeMUTF7(folder))
	for _, cmd := range []string{"CREATE " + name, "SUBSCRIBE " + name} {
		st, text, err := c.command(cmd, nil)
		if err != nil {
			return err
		}
		if st != "OK" {
			return fmt.Errorf("%s answered %s %s", cmd, st, text)
		}
	}
	return nil
}

// connLocked returns the APPEND connection of user, and whether it was
// cached; s.mu is held.
func (s *Server) connLocked(user string) (c *imapConn, reused bool, err error) {
	if s.stopped {
		return nil, false, errors.New("dovecottest: server is stopped")
	}
	if c := s.conns[user]; c != nil {
		return c, true, nil
	}
	if !s.hasUser(user) {
		return nil, false, fmt.Errorf("dovecottest: no user %q", user)
	}
	c, err = dialIMAP(s.IMAPAddr, user, s.Password(user))
	if err != nil {
		return nil, false, err
	}
	s.conns[user] = c
	return c, false, nil
}

func (s *Server) hasUser(name string) bool {
	return slices.ContainsFunc(s.Users, func(u User) bool { return u.Name == name })
}

// FillBulk writes messages straight into the user's Maildir, as a local
// delivery agent does (tmp/ then rename into cur/ with flags in the name and
// the internal date as mtime), which loads thousands of messages per second.
// Dovecot picks the files up at its next sync of the folder, also in open
// sessions, and gives them UIDs in slice order. A missing folder is created
// and subscribed through doveadm. Keywords have no letter of their own in a
// file name (Dovecot keeps a per-folder table), so messages with keywords
// get them through doveadm once the files are in place. Folder names may
// not contain '.', Maildir++'s separator on disk.
func (s *Server) FillBulk(t testing.TB, user, folder string, msgs []Message) {
	t.Helper()
	if err := s.fillBulk(user, folder, msgs); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) fillBulk(user, folder string, msgs []Message) error {
	if !s.hasUser(user) {
		return fmt.Errorf("dovecottest: no user %q", user)
	}
	for i, m := range msgs { // before anything is written
		if _, _, err := maildirFlags(m.Flags); err != nil {
			return fmt.Errorf("dovecottest: FillBulk %s/%s message %d: %w", user, folder, i, err)
		}
	}
	// Held throughout: s.seq, and two calls must not both create a folder.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("dovecottest: FillBulk: server is stopped")
	}
	dir, err := s.folderDir(user, folder)
	if err != nil {
		return err
	}
	keywordSets := map[string][]string{} // space-joined keywords -> unique file names
	for i, m := range msgs {
		letters, keywords, _ := maildirFlags(m.Flags)
		// The name's leading seconds are distinct and increasing: Dovecot
		// orders new files by them when it assigns UIDs (older versions
		// compare only the seconds).
		s.seq++
		base := fmt.Sprintf("%d.M%dP%dQ%d.dovecottest", s.nameT0.Unix()+s.seq, s.seq%1000000, os.Getpid(), s.seq)
		// S= and W= (size with CRLF line endings) save Dovecot reading
		// the file for RFC822.SIZE; they must be exact.
		uniq := fmt.Sprintf("%s,S=%d,W=%d", base, len(m.Raw), crlfSize(m.Raw))
		if err := s.deliver(dir, base, uniq+":2,"+letters, m); err != nil {
			return fmt.Errorf("dovecottest: FillBulk %s/%s message %d: %w", user, folder, i, err)
		}
		if len(keywords) > 0 {
			k := strings.Join(keywords, " ")
			keywordSets[k] = append(keywordSets[k], uniq)
		}
	}
	if len(keywordSets) > 0 {
		return s.addKeywords(user, folder, keywordSets)
	}
	return nil
}

// deliver writes one message file: tmp/base, then renamed to cur/name so
// that Dovecot never sees a partial file.
func (s *Server) deliver(dir, base, name string, m Message) error {
	tmp := filepath.Join(dir, "tmp", base)
	if err := os.WriteFile(tmp, m.Raw, 0o600); err != nil {
		return err
	}
	date := m.InternalDate
	if date.IsZero() {
		date = time.Now()
	}
	// Dovecot's maildir INTERNALDATE is the file's mtime.
	if err := os.Chtimes(tmp, date, date); err != nil {
		return err
	}
	if err := s.acct.chown(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "cur", name)); err != nil {
		return fmt.Errorf("dovecottest: %w", err)
	}
	return nil
}

// addKeywords sets keywords on files FillBulk wrote, found by the part of
// their names before ':' (Dovecot's GUID of a maildir message that has none
// recorded in its uidlist).
func (s *Server) addKeywords(user, folder string, sets map[string][]string) error {
	out, err := s.doveadm("-f", "json", "fetch", "-u", user, "uid guid", "mailbox", folder, "all")
	if err != nil {
		return err
	}
	var rows []struct{ UID, GUID string }
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return fmt.Errorf("dovecottest: parse doveadm fetch output: %w", err)
	}
	uidOf := make(map[string]string, len(rows))
	for _, r := range rows {
		uidOf[r.GUID] = r.UID
	}
	for kw, names := range sets {
		var uids []string
		for _, b := range names {
			u, ok := uidOf[b]
			if !ok {
				return fmt.Errorf("dovecottest: FillBulk %s/%s: Dovecot does not list file %s", user, folder, b)
			}
			uids = append(uids, u)
		}
		if _, err := s.doveadm("flags", "add", "-u", user, kw, "mailbox", folder, "uid", strings.Join(uids, ",")); err != nil {
			return err
		}
	}
	return nil
}

// maildirFlags maps IMAP flags to Maildir info letters (sorted, as the
// Maildir spec asks) and returns the keywords, which have no letter of
// their own.
func maildirFlags(flags []string) (letters string, keywords []string, err error) {
	var l []byte
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			var c byte
			switch strings.ToLower(f) {
			case `\draft`:
				c = 'D'
			case `\flagged`:
				c = 'F'
			case `\answered`:
				c = 'R'
			case `\seen`:
				c = 'S'
			case `\deleted`:
				c = 'T'
			default:
				return "", nil, fmt.Errorf("flag %q cannot be stored", f)
			}
			if !slices.Contains(l, c) {
				l = append(l, c)
			}
			continue
		}
		if f == "" || strings.ContainsAny(f, " ()[]{}\"%*\r\n") {
			return "", nil, fmt.Errorf("keyword %q is not an IMAP atom", f)
		}
		if !slices.Contains(keywords, f) {
			keywords = append(keywords, f)
		}
	}
	slices.Sort(l)
	slices.Sort(keywords)
	return string(l), keywords, nil
}

// crlfSize is len(raw) with every bare LF counted as CRLF: the size Dovecot
// reports as RFC822.SIZE.
func crlfSize(raw []byte) int {
	n := len(raw) + bytes.Count(raw, []byte("\n"))
	return n - bytes.Count(raw, []byte("\r\n"))
}

// checkFolderName rejects names that Maildir++ with '/' as separator
// cannot hold, so the failure is ours and clear rather than Dovecot's.
func checkFolderName(folder string) error {
	if folder == "" || strings.HasPrefix(folder, "/") || strings.HasSuffix(folder, "/") || strings.Contains(folder, "//") {
		return fmt.Errorf("dovecottest: bad folder name %q", folder)
	}
	if strings.Contains(folder, ".") || strings.ContainsAny(folder, "\r\n\x00") {
		return fmt.Errorf("dovecottest: folder name %q: '.' is Maildir++'s separator and control characters are not allowed", folder)
	}
	return nil
}

// folderDir returns the Maildir directory of folder. A missing folder is
// created (and subscribed) through doveadm, not with mkdir: Dovecot's
// mailbox list index would not show a directory made behind its back to
// sessions that are already open.
func (s *Server) folderDir(user, folder string) (string, error) {
	if err := checkFolderName(folder); err != nil {
		return "", err
	}
	root := s.Maildir(user)
	if strings.EqualFold(folder, "INBOX") {
		return root, nil
	}
	dir := filepath.Join(root, "."+strings.ReplaceAll(encodeMUTF7(folder), "/", "."))
	if _, err := os.Stat(filepath.Join(dir, "cur")); err == nil {
		return dir, nil
	}
	if _, err := s.doveadm("mailbox", "create", "-s", "-u", user, folder); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return "", fmt.Errorf("dovecottest: Dovecot created folder %q of %s, but not as %s: %w", folder, user, dir, err)
	}
	return dir, nil
}

// CreateFolder creates and subscribes a folder (name in UTF-8, '/' as
// hierarchy separator) through doveadm.
func (s *Server) CreateFolder(t testing.TB, user, name string) {
	t.Helper()
	s.Doveadm(t, "mailbox", "create", "-s", "-u", user, name)
}

// DeleteFolder deletes a folder and its messages and unsubscribes it.
func (s *Server) DeleteFolder(t testing.TB, user, name string) {
	t.Helper()
	s.Doveadm(t, "mailbox", "delete", "-s", "-u", user, name)
}

// RecreateFolder deletes a folder and creates an empty one of the same name;
// Dovecot gives it a new UIDVALIDITY, which is what importers must notice.
func (s *Server) RecreateFolder(t testing.TB, user, name string) {
	t.Helper()
	s.DeleteFolder(t, user, name)
	s.CreateFolder(t, user, name)
}

// UIDValidity returns the folder's current UIDVALIDITY.
func (s *Server) UIDValidity(t testing.TB, user, name string) uint32 {
	t.Helper()
	out := s.Doveadm(t, "-f", "json", "mailbox", "status", "-u", user, "uidvalidity", name)
	var rows []struct{ UIDValidity string }
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("dovecottest: parse doveadm mailbox status output %q: %v", out, err)
	}
	v, err := strconv.ParseUint(rows[0].UIDValidity, 10, 32)
	if err != nil {
		t.Fatalf("dovecottest: parse doveadm mailbox status output %q: %v", out, err)
	}
	return uint32(v)
}
