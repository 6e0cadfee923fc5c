package pop3

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/pop3test"
)

func TestImportIncremental(t *testing.T) {
	msgs := mailbox(20)
	srv := newServer(t, msgs, nil)
	a := archive.TestArchive(t)

	res, rep, err := importOnce(t, a, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 20 || rep.Failed != 0 || res.OnServer != 20 || res.Sessions != 1 {
		t.Fatalf("first run: %+v %+v", rep.RunCounts, res)
	}
	checkArchived(t, a, srv.Mailbox(testUser))
	if got := commands(srv, "DELE"); len(got) != 0 {
		t.Fatalf("without --delete the server got %v", got)
	}
	if n := len(srv.Mailbox(testUser)); n != 20 {
		t.Fatalf("server has %d messages, want 20", n)
	}

	// The internal date is the newest Received's, not the Date header's.
	for _, e := range entries(t, a) {
		if e.Date == t0.Unix() {
			t.Errorf("message %d got the Date header's date", e.UID)
		}
	}
	if e := entries(t, a)[3]; e.Date != t0.Add(4*time.Hour).Unix() {
		t.Errorf("message 4: internal date %v, want the first Received's %v", time.Unix(e.Date, 0).UTC(), t0.Add(4*time.Hour))
	}

	// A rerun fetches nothing: one listing, no RETR.
	retrs := len(commands(srv, "RETR"))
	res, rep, err = importOnce(t, a, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 0 || rep.Existing != 20 || res.Known != 20 {
		t.Fatalf("rerun: %+v %+v", rep.RunCounts, res)
	}
	if n := len(commands(srv, "RETR")); n != retrs {
		t.Fatalf("rerun sent %d RETR", n-retrs)
	}

	// New mail: only that is fetched, even into another account (the
	// source is the maildrop, not the account).
	srv.Add(testUser, mailbox(25)[20:]...)
	_, rep, err = importOnce(t, a, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 5 || rep.Existing != 20 || len(commands(srv, "RETR")) != retrs+5 {
		t.Fatalf("new mail: %+v, %d RETR", rep.RunCounts, len(commands(srv, "RETR"))-retrs)
	}
	_, rep, err = importOnce(t, a, srv, func(c *Config) { c.Account = "other" })
	if err != nil || rep.New+rep.Linked != 0 || rep.Existing != 25 {
		t.Fatalf("other account: %+v %v", rep.RunCounts, err)
	}
	checkArchived(t, a, srv.Mailbox(testUser))
}

func TestImportFolder(t *testing.T) {
	srv := newServer(t, mailbox(3), nil)
	a := archive.TestArchive(t)
	if _, _, err := importOnce(t, a, srv, func(c *Config) { c.Folder = "Old/POP" }); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries(t, a) {
		if e.Folder != "Old/POP" {
			t.Fatalf("entry in %q", e.Folder)
		}
	}
}

func TestImportDelete(t *testing.T) {
	msgs := mailbox(10)
	srv := newServer(t, msgs, nil)
	a := archive.TestArchive(t)

	// Archive 4 first without --delete ...
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, _ int) pop3test.RetrAction {
		if n > 4 {
			return pop3test.RetrAction{Err: "not now"}
		}
		return pop3test.RetrAction{}
	}})
	if _, rep, err := importOnce(t, a, srv, nil); err != nil || rep.New != 4 || rep.Failed != 6 {
		t.Fatalf("first run: %+v %v", rep.RunCounts, err)
	}
	// ... then with --delete, and message 7 refused: the 4 archived before
	// and the 5 archived now go; message 7 stays.
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, _ int) pop3test.RetrAction {
		if n == 7 {
			return pop3test.RetrAction{Err: "[SYS/PERM] unreadable"}
		}
		return pop3test.RetrAction{}
	}})
	res, rep, err := importOnce(t, a, srv, func(c *Config) { c.Delete = true })
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 5 || rep.Existing != 4 || rep.Failed != 1 || res.Deleted != 9 {
		t.Fatalf("delete run: %+v %+v", rep.RunCounts, res)
	}
	left := srv.Mailbox(testUser)
	if len(left) != 1 || string(left[0].Data) != string(msgs[6].Data) {
		t.Fatalf("server keeps %d messages, want only message 7", len(left))
	}
	checkArchived(t, a, append(append([]pop3test.Message{}, msgs[:6]...), msgs[7:]...))
	// DELE came after every RETR, and QUIT after every DELE.
	var sawDele, sawQuit bool
	for _, c := range srv.Commands() {
		switch {
		case strings.Contains(c, " RETR") && (sawDele || sawQuit) && strings.HasPrefix(c, "2 "):
			t.Errorf("RETR after DELE/QUIT: %v", srv.Commands())
		case strings.HasPrefix(c, "2 DELE"):
			sawDele = true
		case strings.HasPrefix(c, "2 QUIT"):
			sawQuit = true
		}
	}
	if !sawDele || !sawQuit {
		t.Fatalf("session 2: DELE %v QUIT %v", sawDele, sawQuit)
	}
}

// failingCommit is an archive whose explicit Commit fails, as a full disk
// or a dying catalog would make it.
type failingCommit struct {
	*archive.Writer
	commits atomic.Int32
}

func (f *failingCommit) Commit(ctx context.Context) error {
	f.commits.Add(1)
	f.Writer.Abort()
	return errors.New("injected: disk full")
}

func TestImportDeleteNothingWhenCommitFails(t *testing.T) {
	srv := newServer(t, mailbox(8), nil)
	a := archive.TestArchive(t)
	w, err := a.NewWriter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w.BatchMessages = 1 << 20 // no commit inside DeliverSpooled
	fw := &failingCommit{Writer: w}
	cfg := baseConfig(srv)
	cfg.Delete = true
	rep := &importers.Report{}
	_, err = Import(context.Background(), cfg, fw, rep)
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Import: %v, want the commit failure", err)
	}
	if fw.commits.Load() == 0 {
		t.Fatal("Import did not commit before DELE")
	}
	if got := commands(srv, "DELE", "QUIT"); len(got) != 0 {
		t.Fatalf("server got %v after a failed commit", got)
	}
	if n := len(srv.Mailbox(testUser)); n != 8 {
		t.Fatalf("server has %d messages, want 8", n)
	}
	if n := len(entries(t, a)); n != 0 {
		t.Fatalf("%d entries after a failed commit", n)
	}
	// The next run is complete and empties the server.
	res, rep2, err := importOnce(t, a, srv, func(c *Config) { c.Delete = true })
	if err != nil || rep2.New != 8 || res.Deleted != 8 || len(srv.Mailbox(testUser)) != 0 {
		t.Fatalf("rerun: %+v %+v %v, %d left", rep2.RunCounts, res, err, len(srv.Mailbox(testUser)))
	}
}

// cancelAfter cancels a context once n messages are done: an interrupt
// at a known point, whatever the pipelining does.
type cancelAfter struct {
	n      atomic.Int64
	at     int64
	cancel context.CancelFunc
}

func (c *cancelAfter) AddTotal(int64, int64) {}
func (c *cancelAfter) Add(msgs, _ int64) {
	if c.n.Add(msgs) == c.at {
		c.cancel()
	}
}

func TestImportDeleteInterrupted(t *testing.T) {
	// Cancelled (as by ^C or a kill) in the middle: nothing is deleted
	// even though some messages were stored and committed.
	msgs := mailbox(30)
	srv := newServer(t, msgs, nil)
	a := archive.TestArchive(t)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.BatchMessages = 5 // several commits happen before the interrupt
	cfg := baseConfig(srv)
	cfg.Delete = true
	cfg.Progress = &cancelAfter{at: 17, cancel: cancel}
	cfg.Known, _ = a.SourceRefs(ctx, SourceName(cfg.Host, cfg.User))
	rep := &importers.Report{}
	_, err = Import(ctx, cfg, w, rep)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Import: %v, want context.Canceled", err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored := len(entries(t, a))
	if stored != 17 {
		t.Fatalf("%d stored before the interrupt, want 17", stored)
	}
	if got := commands(srv, "DELE", "QUIT"); len(got) != 0 {
		t.Fatalf("server got %v", got)
	}
	if len(srv.Mailbox(testUser)) != 30 {
		t.Fatal("messages deleted by an interrupted run")
	}
	res, rep2, err := importOnce(t, a, srv, func(c *Config) { c.Delete = true })
	if err != nil || int(rep2.New) != 30-stored || int(rep2.Existing) != stored || res.Deleted != 30 {
		t.Fatalf("rerun: %+v %+v %v", rep2.RunCounts, res, err)
	}
	if len(srv.Mailbox(testUser)) != 0 {
		t.Fatal("rerun left messages on the server")
	}
	checkArchived(t, a, msgs)
}

func TestImportRetrError(t *testing.T) {
	srv := newServer(t, mailbox(6), nil)
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, _ int) pop3test.RetrAction {
		if n == 3 {
			return pop3test.RetrAction{Err: "[SYS/TEMP] cannot read message"}
		}
		return pop3test.RetrAction{}
	}})
	a := archive.TestArchive(t)
	_, rep, err := importOnce(t, a, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 5 || rep.Failed != 1 || len(rep.Problems) != 1 {
		t.Fatalf("%+v %+v", rep.RunCounts, rep.Problems)
	}
	p := rep.Problems[0]
	if !p.Fatal || !strings.Contains(p.Where, "msg 3 uidl U3") || !strings.Contains(p.Error, "cannot read message") {
		t.Errorf("problem %+v", p)
	}
	srv.SetHooks(pop3test.Hooks{})
	if _, rep, err = importOnce(t, a, srv, nil); err != nil || rep.New != 1 || rep.Failed != 0 {
		t.Fatalf("rerun: %+v %v", rep.RunCounts, err)
	}
	checkArchived(t, a, srv.Mailbox(testUser))
}

func TestImportCutMidMessage(t *testing.T) {
	msgs := mailbox(5)
	target := msgs[2].Data
	stuffed := len(target) + 3 // three lines of the body start with a dot
	for _, cut := range []int{1, 10, len(target) / 2, stuffed - 1, stuffed, stuffed + 1, stuffed + 2} {
		t.Run(itoa(cut), func(t *testing.T) {
			srv := newServer(t, msgs, nil)
			srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, attempt int) pop3test.RetrAction {
				if n == 3 && attempt == 1 {
					return pop3test.RetrAction{CutAfter: cut}
				}
				return pop3test.RetrAction{}
			}})
			a := archive.TestArchive(t)
			res, rep, err := importOnce(t, a, srv, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.New != 5 || rep.Failed != 0 || res.Sessions != 2 {
				t.Fatalf("%+v %+v", rep.RunCounts, res)
			}
			checkArchived(t, a, msgs)
		})
	}
	t.Run("every time", func(t *testing.T) {
		srv := newServer(t, msgs, nil)
		srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, _ int) pop3test.RetrAction {
			if n == 3 {
				return pop3test.RetrAction{CutAfter: 100}
			}
			return pop3test.RetrAction{}
		}})
		a := archive.TestArchive(t)
		res, rep, err := importOnce(t, a, srv, func(c *Config) { c.Delete = true })
		if err != nil {
			t.Fatal(err)
		}
		if rep.New != 4 || rep.Failed != 1 || res.Sessions != maxCuts+1 || res.Deleted != 4 {
			t.Fatalf("%+v %+v", rep.RunCounts, res)
		}
		if left := srv.Mailbox(testUser); len(left) != 1 || left[0].UIDL != msgs[2].UIDL && left[0].UIDL != "U3" {
			t.Fatalf("server keeps %v", left)
		}
		checkArchived(t, a, append(append([]pop3test.Message{}, msgs[:2]...), msgs[3:]...))
	})
}

func TestImportStall(t *testing.T) {
	msgs := mailbox(4)
	srv := newServer(t, msgs, nil)
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, attempt int) pop3test.RetrAction {
		if n == 2 && attempt == 1 {
			return pop3test.RetrAction{CutAfter: 30, Stall: true}
		}
		return pop3test.RetrAction{}
	}})
	a := archive.TestArchive(t)
	start := time.Now()
	res, rep, err := importOnce(t, a, srv, func(c *Config) { c.Dial.Timeout = 300 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 4 || res.Sessions != 2 || time.Since(start) > 5*time.Second {
		t.Fatalf("%+v %+v in %v", rep.RunCounts, res, time.Since(start))
	}
	checkArchived(t, a, msgs)
}

func TestImportServerDown(t *testing.T) {
	// The server goes away for good mid-run: the import gives up after
	// its retries, keeping what it stored.
	msgs := mailbox(6)
	srv := newServer(t, msgs, nil)
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, _ int) pop3test.RetrAction {
		if n == 4 {
			go srv.Close()
			return pop3test.RetrAction{CutAfter: 10}
		}
		return pop3test.RetrAction{}
	}})
	a := archive.TestArchive(t)
	_, rep, err := importOnce(t, a, srv, func(c *Config) { c.Retries = 2; c.Delete = true })
	if err == nil || !strings.Contains(err.Error(), "giving up") {
		t.Fatalf("Import: %v", err)
	}
	if rep.New != 3 || len(entries(t, a)) != 3 {
		t.Fatalf("%+v, %d entries", rep.RunCounts, len(entries(t, a)))
	}
	if got := commands(srv, "DELE"); len(got) != 0 {
		t.Fatalf("DELE sent: %v", got)
	}
}

func TestImportNoUIDL(t *testing.T) {
	msgs := mailbox(6)
	srv := newServer(t, msgs, func(s *pop3test.Server) { s.NoUIDL = true })
	a := archive.TestArchive(t)
	res, rep, err := importOnce(t, a, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != 6 || !res.NoUIDL || len(rep.Problems) != 1 || rep.Problems[0].Fatal {
		t.Fatalf("%+v %+v %+v", rep.RunCounts, res, rep.Problems)
	}
	// No UIDL, no refs: a rerun fetches all again, and dedup keeps one copy.
	retrs := len(commands(srv, "RETR"))
	_, rep, err = importOnce(t, a, srv, nil)
	if err != nil || rep.New != 0 || rep.Existing != 6 || len(commands(srv, "RETR")) != retrs+6 {
		t.Fatalf("rerun: %+v %v", rep.RunCounts, err)
	}
	checkArchived(t, a, msgs)
	refs, err := a.SourceRefs(context.Background(), SourceName("pop.test", testUser))
	if err != nil || len(refs) != 0 {
		t.Fatalf("refs without UIDL: %v %v", refs, err)
	}

	// A cut mid-run: the new session fetches everything again, nothing
	// is counted twice, and --delete removes what this run stored.
	srv.Add(testUser, mailbox(9)[6:]...)
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, attempt int) pop3test.RetrAction {
		if n == 8 && attempt == 1 {
			return pop3test.RetrAction{CutAfter: 40}
		}
		return pop3test.RetrAction{}
	}})
	res, rep, err = importOnce(t, a, srv, func(c *Config) { c.Delete = true })
	if err != nil || rep.New != 3 || rep.Existing != 6 || res.Sessions != 2 || res.Deleted != 9 {
		t.Fatalf("cut without UIDL: %+v %+v %v", rep.RunCounts, res, err)
	}
	if len(srv.Mailbox(testUser)) != 0 {
		t.Fatal("messages left")
	}
}

func TestImportMalformed(t *testing.T) {
	msgs := []pop3test.Message{
		{Data: []byte("Subject: bare LF\n\nline\n.\n..\nend\n")},
		{Data: []byte("Subject: long line\r\n\r\n" + strings.Repeat("x", 200<<10) + "\r\n")},
		{Data: []byte("Subject: NUL\r\n\r\na\x00b\r\n")},
		{Data: []byte("Received: by x; Tue, 1 Jun 2021 10:00:00 +0000\rSubject: CR only\r\rbody\r")},
		{Data: []byte("Subject: no final newline\r\n\r\nlast line")},
	}
	srv := newServer(t, msgs, nil)
	a := archive.TestArchive(t)
	_, rep, err := importOnce(t, a, srv, nil)
	if err != nil || rep.New != 5 {
		t.Fatalf("%+v %v", rep.RunCounts, err)
	}
	// Everything is kept byte for byte; the CRLF the server adds to a last
	// line without one (so that "." is on its own line) is recognised by
	// the LIST size and dropped.
	checkArchived(t, a, msgs)
	for _, e := range entries(t, a) {
		if e.UID == 4 && e.Date != time.Date(2021, 6, 1, 10, 0, 0, 0, time.UTC).Unix() {
			t.Errorf("CR-only message: date %v", time.Unix(e.Date, 0))
		}
	}
}

func TestImport30MB(t *testing.T) {
	if testing.Short() {
		t.Skip("30 MB")
	}
	big := make([]byte, 0, 30<<20+1000)
	big = append(big, msg(1, t0, t0, "")...)
	line := []byte(strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", 2) + "\r\n")
	for len(big) < 30<<20 {
		big = append(big, line...)
		if len(big)%(1<<20) < len(line) {
			big = append(big, ".dot line\r\n"...) // stuffed
		}
	}
	msgs := []pop3test.Message{{Data: big}}
	srv := newServer(t, msgs, nil)
	a := archive.TestArchive(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, rep, err := importOnce(t, a, srv, nil)
	runtime.ReadMemStats(&after)
	if err != nil || rep.New != 1 || rep.Bytes != int64(len(big)) {
		t.Fatalf("%+v %v", rep.RunCounts, err)
	}
	// Everything allocated in this process while importing, test server
	// included: far less than the message, so it was never held whole.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB while importing a %d MiB message", alloc>>10, len(big)>>20)
	if alloc > 8<<20 {
		t.Errorf("allocated %d MiB importing a 30 MiB message", alloc>>20)
	}
	checkArchived(t, a, msgs)
}

func TestImportTLSAndMechanisms(t *testing.T) {
	srvCfg, cliCfg, _, err := pop3test.TLSConfigs()
	if err != nil {
		t.Fatal(err)
	}
	msgs := mailbox(3)
	cases := []struct {
		name  string
		setup func(*pop3test.Server)
		sec   Security
		mech  Mechanism
	}{
		{"STLS USER", func(s *pop3test.Server) { s.TLSConfig = srvCfg }, STARTTLS, Auto},
		{"STLS SASL PLAIN", func(s *pop3test.Server) { s.TLSConfig = srvCfg; s.SASL = true }, STARTTLS, Auto},
		{"implicit TLS", func(s *pop3test.Server) { s.TLSConfig = srvCfg; s.ImplicitTLS = true }, ImplicitTLS, Auto},
		{"APOP in clear", func(s *pop3test.Server) { s.APOP = true; s.SASL = true }, Plain, Auto},
		{"APOP forced over TLS", func(s *pop3test.Server) { s.TLSConfig = srvCfg; s.APOP = true }, STARTTLS, MechAPOP},
		{"no CAPA", func(s *pop3test.Server) { s.NoCAPA = true }, Plain, Auto},
		{"no pipelining", func(s *pop3test.Server) { s.NoPipelining = true }, Plain, Auto},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, msgs, tc.setup)
			a := archive.TestArchive(t)
			_, rep, err := importOnce(t, a, srv, func(c *Config) {
				c.Dial.Security, c.Dial.TLSConfig, c.Mechanism = tc.sec, cliCfg, tc.mech
			})
			if err != nil || rep.New != 3 {
				t.Fatalf("%+v %v", rep.RunCounts, err)
			}
			for _, c := range srv.Commands() {
				if strings.Contains(c, testPass) {
					t.Errorf("password in the server log: %q", c)
				}
			}
			checkArchived(t, a, msgs)
		})
	}
	t.Run("certificate not trusted", func(t *testing.T) {
		srv := newServer(t, msgs, func(s *pop3test.Server) { s.TLSConfig = srvCfg })
		a := archive.TestArchive(t)
		_, _, err := importOnce(t, a, srv, func(c *Config) { c.Dial.Security, c.Dial.TLSConfig = STARTTLS, nil })
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("untrusted certificate: %v", err)
		}
		if got := commands(srv, "USER", "PASS", "AUTH", "APOP"); len(got) != 0 {
			t.Fatalf("credentials sent: %v", got)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := newServer(t, msgs, nil)
		a := archive.TestArchive(t)
		start := time.Now()
		_, _, err := importOnce(t, a, srv, func(c *Config) { c.Password = "wrong" })
		if !errors.Is(err, ErrAuth) || time.Since(start) > 2*time.Second {
			t.Fatalf("wrong password: %v after %v", err, time.Since(start))
		}
	})
	t.Run("maildrop in use", func(t *testing.T) {
		// Another client holds the maildrop; it lets go after a while.
		srv := newServer(t, msgs, nil)
		other, err := Dial(context.Background(), srv.Addr, Options{Security: Plain})
		if err != nil {
			t.Fatal(err)
		}
		if err := other.Login(context.Background(), testUser, testPass, MechUser); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(100*time.Millisecond, func() { other.Quit(context.Background()) })
		a := archive.TestArchive(t)
		_, rep, err := importOnce(t, a, srv, func(c *Config) { c.RetryDelay = 50 * time.Millisecond })
		if err != nil || rep.New != 3 {
			t.Fatalf("%+v %v", rep.RunCounts, err)
		}
	})
}

func TestDryRun(t *testing.T) {
	srv := newServer(t, mailbox(5), nil)
	a := archive.TestArchive(t)
	srv.SetHooks(pop3test.Hooks{Retr: func(_ string, n int, _ pop3test.Message, _ int) pop3test.RetrAction {
		if n > 2 {
			return pop3test.RetrAction{Err: "later"}
		}
		return pop3test.RetrAction{}
	}})
	importOnce(t, a, srv, nil)
	cfg := baseConfig(srv)
	cfg.Delete = true
	cfg.Known, _ = a.SourceRefs(context.Background(), SourceName(cfg.Host, cfg.User))
	retrs := len(commands(srv, "RETR"))
	p, err := DryRun(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.OnServer != 5 || p.Known != 2 || p.ToFetch != 3 || p.NoUIDL {
		t.Fatalf("%+v", p)
	}
	if len(commands(srv, "RETR")) != retrs || len(commands(srv, "DELE")) != 0 || len(srv.Mailbox(testUser)) != 5 {
		t.Fatal("dry run changed or fetched something")
	}
}
