package main

import (
	"io"
	"sync"

	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/emersion/go-smtp"
	"github.com/mailark/mailark/exporters"
	imapexp "github.com/mailark/mailark/exporters/imap"
	smtpexp "github.com/mailark/mailark/exporters/smtp"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/tlsopt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/imapserver"
	"github.com/mailark/mailark/internal/pop3test"
	"github.com/mailark/mailark/search"
	"golang.org/x/crypto/bcrypt"
)

// The demo's in-process servers: the sample's folders behind go-imap's
// imapmemserver, its INBOX behind the project's POP3 test server. They
// listen on 127.0.0.1 only, and exist only while the demo runs.

const demoUser, demoPassword = "demo", "demo-password"

type demoMsg struct {
	folder string
	flags  []string
	date   time.Time
	raw    []byte
}

// sampleMessages reads the extracted sample Maildir++ tree.
func sampleMessages(root string) ([]demoMsg, error) {
	var out []demoMsg
	dirs := []string{""}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, e.Name())
		}
	}
	for _, d := range dirs {
		folder, err := archive.FolderFromDir(d)
		if err != nil {
			return nil, err
		}
		for _, sub := range []string{"cur", "new"} {
			files, err := os.ReadDir(filepath.Join(root, d, sub))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				p := filepath.Join(root, d, sub, f.Name())
				raw, err := os.ReadFile(p)
				if err != nil {
					return nil, err
				}
				st, err := os.Stat(p)
				if err != nil {
					return nil, err
				}
				var flags []string
				if _, info, ok := strings.Cut(f.Name(), ":2,"); ok {
					flags = archive.FlagsFromInfo(info)
				}
				out = append(out, demoMsg{folder: folder, flags: flags, date: st.ModTime(), raw: raw})
			}
		}
	}
	return out, nil
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// startDemoIMAP serves msgs from an in-memory IMAP server on loopback.
func startDemoIMAP(msgs []demoMsg) (addr string, stop func(), err error) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(demoUser, demoPassword)
	// Every account has an INBOX, even an empty target.
	if err := u.Create(archive.Inbox, nil); err != nil {
		return "", nil, err
	}
	created := map[string]bool{archive.Inbox: true}
	for _, m := range msgs {
		if !created[m.folder] {
			if err := u.Create(m.folder, nil); err != nil {
				return "", nil, fmt.Errorf("creating %s: %w", m.folder, err)
			}
			created[m.folder] = true
		}
		var flags []imap.Flag
		for _, f := range m.flags {
			flags = append(flags, imap.Flag(f))
		}
		if _, err := u.Append(m.folder, literal{bytes.NewReader(m.raw), int64(len(m.raw))}, &imap.AppendOptions{Flags: flags, Time: m.date}); err != nil {
			return "", nil, fmt.Errorf("filling %s: %w", m.folder, err)
		}
	}
	mem.AddUser(u)
	srv := goimapserver.New(&goimapserver.Options{
		NewSession: func(*goimapserver.Conn) (goimapserver.Session, *goimapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true, // loopback only, for the demo
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// startDemoPOP3 serves msgs as one POP3 maildrop on loopback.
func startDemoPOP3(msgs []demoMsg) *pop3test.Server {
	var box []pop3test.Message
	for _, m := range msgs {
		box = append(box, pop3test.Message{Data: m.raw})
	}
	return pop3test.NewServer(map[string]string{demoUser: demoPassword}, map[string][]pop3test.Message{demoUser: box})
}

// demoServe serves the archive read-only over IMAP on a free loopback port,
// logs in as a real client would, and fetches one message through it.
func demoServe(ctx context.Context, g *globalOptions, dir string, check func(string, bool, string, ...any), say func(string, ...any)) error {
	a, err := archive.Open(ctx, g.archiveDir, archive.Options{Logger: g.log})
	if err != nil {
		return err
	}
	defer a.Close()
	ix, err := openIndex(g, search.Dir(a.Dir()))
	if err != nil {
		return err
	}
	defer ix.Close()
	hash, err := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.MinCost)
	if err != nil {
		return err
	}
	users := filepath.Join(dir, "users")
	if err := imapserver.WriteUsersFile(users, []imapserver.User{{Name: demoUser, Hash: string(hash), Accounts: []string{"imap"}}}); err != nil {
		return err
	}
	srv, err := imapserver.New(imapserver.Config{Archive: a, Index: ix, UsersFile: users, Logger: g.log, PlainLoopback: true})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	say("mailark serve on imap://%s (read-only), a client logs in as %q", ln.Addr(), demoUser)

	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(demoUser, demoPassword).Wait(); err != nil {
		return fmt.Errorf("logging in to the archive: %w", err)
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		return err
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return err
	}
	say("  LIST: %d folders; SELECT INBOX: %d messages, UIDVALIDITY %d", len(boxes), sel.NumMessages, sel.UIDValidity)
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		return fmt.Errorf("fetching message 1: %v", err)
	}
	var body []byte
	for _, b := range msgs[0].BodySection {
		body = b.Bytes
	}
	id := archive.Sum(body)
	info, err := a.Message(ctx, id)
	ok := err == nil
	if ok {
		raw, rerr := os.ReadFile(info.Path)
		ok = rerr == nil && archive.Sum(raw) == id
	}
	storeErr := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	say("  FETCH 1 BODY[]: %d bytes, id %s; STORE \\Deleted: %v", len(body), id.Short(), storeErr)
	c.Logout().Wait()
	check("serve", len(boxes) > 0 && ok && storeErr != nil,
		"%d folders listed, message 1 fetched intact: %v, a write refused: %v", len(boxes), ok, storeErr != nil)
	return nil
}

// demoSMTPSink is an in-process go-smtp backend that keeps what it receives.
type demoSMTPSink struct {
	mu   sync.Mutex
	msgs [][]byte
	rcpt []string
}

func (s *demoSMTPSink) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &demoSinkSession{s: s}, nil
}

type demoSinkSession struct{ s *demoSMTPSink }

func (ss *demoSinkSession) Reset()                                         {}
func (ss *demoSinkSession) Logout() error                                  { return nil }
func (ss *demoSinkSession) Mail(from string, opts *smtp.MailOptions) error { return nil }
func (ss *demoSinkSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.rcpt = append(ss.s.rcpt, to)
	return nil
}
func (ss *demoSinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.msgs = append(ss.s.msgs, b)
	return nil
}

// demoExport exports the messages query finds in account "imap" over IMAP
// APPEND into a second in-process IMAP server and over SMTP into an
// in-process go-smtp sink, and checks that both received every message.
func demoExport(ctx context.Context, g *globalOptions, q string, check func(string, bool, string, ...any), say func(string, ...any)) error {
	sf := &selectFlags{accounts: []string{"imap"}, query: q}
	addr, stop, err := startDemoIMAP(nil)
	if err != nil {
		return err
	}
	defer stop()
	var irep *exporters.Report
	err = exportFrame(ctx, g, "export imap", "imap://"+addr, sf, false, "appended",
		func(ctx context.Context, a *archive.Archive, sel *archive.Selection, run int64, prog progress.Counter, rep *exporters.Report) error {
			irep = rep
			return imapexp.Run(ctx, a, sel, imapexp.Options{Addr: addr, TLS: tlsopt.None, User: demoUser, Password: demoPassword,
				Run: run, Logger: g.log, Progress: prog}, rep)
		})
	if err != nil && err != errPartial {
		return err
	}
	// What the target server holds now, counted by a client.
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	if err := c.Login(demoUser, demoPassword).Wait(); err != nil {
		return err
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		return err
	}
	onServer := int64(0)
	for _, b := range boxes {
		st, err := c.Status(b.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err == nil && st.NumMessages != nil {
			onServer += int64(*st.NumMessages)
		}
	}
	c.Logout().Wait()
	t := irep.Total()
	check("export imap", t.Done.Messages > 0 && t.Done.Messages == t.Selected.Messages && onServer == t.Done.Messages && t.Failed.Messages == 0,
		"%d of %d selected appended, %d on the target server", t.Done.Messages, t.Selected.Messages, onServer)

	sink := &demoSMTPSink{}
	ss := smtp.NewServer(sink)
	ss.Domain, ss.AllowInsecureAuth = "localhost", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go ss.Serve(ln)
	defer ss.Close()
	var srep *exporters.Report
	err = exportFrame(ctx, g, "export smtp", "smtp://"+ln.Addr().String(), sf, false, "sent",
		func(ctx context.Context, a *archive.Archive, sel *archive.Selection, run int64, prog progress.Counter, rep *exporters.Report) error {
			srep = rep
			return smtpexp.Run(ctx, a, sel, smtpexp.Options{Addr: ln.Addr().String(), TLS: tlsopt.None,
				From: "archive@example.org", To: []string{"me@example.org"}, Run: run, Logger: g.log, Progress: prog}, rep)
		})
	if err != nil && err != errPartial {
		return err
	}
	sink.mu.Lock()
	got := len(sink.msgs)
	intact := true
	for _, m := range sink.msgs {
		if _, err := func() (*archive.MessageInfo, error) {
			a, err := archive.Open(ctx, g.archiveDir, archive.Options{ReadOnly: true})
			if err != nil {
				return nil, err
			}
			defer a.Close()
			return a.Message(ctx, archive.Sum(m))
		}(); err != nil {
			intact = false
		}
	}
	rcptOK := true
	for _, r := range sink.rcpt {
		rcptOK = rcptOK && r == "me@example.org"
	}
	sink.mu.Unlock()
	st := srep.Total()
	check("export smtp", st.Done.Messages > 0 && int64(got) == st.Done.Messages && intact && rcptOK,
		"%d sent, %d received unchanged by the sink, envelope only --to: %v", st.Done.Messages, got, rcptOK)
	return nil
}
