package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
)

// testMessage returns a small distinct message of about pad bytes.
func testMessage(i int, folder string, pad int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <s%d@example.org>\r\nTo: alice@example.org\r\nSubject: message %d in %s\r\n", i, i, i, folder)
	fmt.Fprintf(&b, "Date: Mon, 2 Jan 2006 15:%02d:05 +0000\r\nMessage-ID: <m%d.%x@example.org>\r\n\r\n", i%60, i, folder)
	for line := 0; b.Len() < pad; line++ {
		fmt.Fprintf(&b, "line %d of message %d in folder %s: the quick brown fox jumps over the lazy dog\r\n", line, i, folder)
	}
	return b.Bytes()
}

type stored struct {
	folder string
	raw    []byte
	flags  string // as the catalog keeps them
	date   time.Time
}

// fill puts n messages into each folder and returns what the archive must
// hold afterwards, by folder and ID.
func fill(ms *memServer, folders map[string]int, pad int) map[string]map[string]stored {
	want := map[string]map[string]stored{}
	i := 0
	for folder, n := range folders {
		want[folder] = map[string]stored{}
		for k := 0; k < n; k++ {
			i++
			raw := testMessage(i, folder, pad)
			date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
			var flags []string
			if k%3 == 0 {
				flags = []string{`\Seen`}
			}
			ms.add(folder, raw, flags, date)
			want[folder][idHex(raw)] = stored{folder, raw, strings.Join(flags, " "), date}
		}
	}
	return want
}

func checkArchive(t *testing.T, a *archive.Archive, want map[string]map[string]stored) {
	t.Helper()
	got := catalog(t, a, AccountName(testUser))
	for folder, msgs := range want {
		if len(got[folder]) != len(msgs) {
			t.Errorf("folder %s: %d messages archived, want %d", folder, len(got[folder]), len(msgs))
		}
		for id, m := range msgs {
			e, ok := got[folder][id]
			if !ok {
				t.Errorf("folder %s: message %s missing", folder, id[:12])
				continue
			}
			if e.flags != m.flags {
				t.Errorf("folder %s: message %s flags %q, want %q", folder, id[:12], e.flags, m.flags)
			}
			if e.date != m.date.Unix() {
				t.Errorf("folder %s: message %s internal date %d, want %d", folder, id[:12], e.date, m.date.Unix())
			}
			b, err := os.ReadFile(fileOf(t, a, AccountName(testUser), folder, e))
			if err != nil {
				t.Error(err)
			} else if !bytes.Equal(b, m.raw) {
				t.Errorf("folder %s: message %s: file differs from the server's bytes", folder, id[:12])
			}
		}
	}
	for folder, ids := range got {
		for id := range ids {
			if _, ok := want[folder][id]; !ok {
				t.Errorf("folder %s: unexpected message %s", folder, id[:12])
			}
		}
	}
	if n := tmpFiles(t, a, AccountName(testUser)); n > 0 {
		t.Errorf("%d files left in tmp/", n)
	}
	archive.TestVerify(t, a)
}

func TestImportFoldersFlagsDatesDedup(t *testing.T) {
	ms := startMem(t, memOptions{})
	folders := map[string]int{"INBOX": 30, "Reçus & Factures": 8, "Archive/2019": 6, "收件箱": 5}
	for f := range folders {
		if f != "INBOX" {
			ms.create(f)
		}
	}
	ms.create("Empty")
	want := fill(ms, folders, 600)

	// The same bytes in two folders; flags with a keyword; no Message-ID, no Date.
	dup := testMessage(1000, "dup", 500)
	d1 := time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC)
	d2 := time.Date(2021, 6, 2, 11, 0, 0, 0, time.UTC)
	ms.add("INBOX", dup, []string{`\Flagged`, "$label1", `\Seen`}, d1)
	ms.add("Archive/2019", dup, nil, d2)
	want["INBOX"][idHex(dup)] = stored{"INBOX", dup, `$label1 \Flagged \Seen`, d1}
	want["Archive/2019"][idHex(dup)] = stored{"Archive/2019", dup, "", d2}
	bare := []byte("From: nobody@example.org\r\nSubject: no id, no date\r\n\r\nbody\r\n")
	d3 := time.Date(2018, 3, 3, 3, 3, 3, 0, time.UTC)
	ms.add("INBOX", bare, []string{`\Answered`}, d3)
	want["INBOX"][idHex(bare)] = stored{"INBOX", bare, `\Answered`, d3}
	want["Empty"] = map[string]stored{}

	a := archive.TestArchive(t)
	sum, rep := mustImport(t, a, testOptions(t, ms.Addr))
	if rep.Failed != 0 || len(rep.Problems) != 0 {
		t.Fatalf("failures: %+v", rep.Problems)
	}
	if rep.New != 51 || rep.Linked != 1 || rep.Existing != 0 {
		t.Errorf("counts %+v, want 51 new, 1 linked", rep.RunCounts)
	}
	checkArchive(t, a, want)
	if sum.Reconnects != 0 {
		t.Errorf("%d reconnects, want 0", sum.Reconnects)
	}
	if n := ms.fetches("Empty"); n != 0 {
		t.Errorf("%d FETCH commands in an empty folder, want none", n)
	}
	if fr := folderReport(t, sum, "INBOX"); fr.New+fr.Linked != 32 || fr.ToFetch != 32 || fr.Bytes == 0 {
		t.Errorf("INBOX report %+v", fr)
	}

	// The duplicate is one file with two names.
	cat := catalog(t, a, AccountName(testUser))
	st1, err1 := os.Stat(fileOf(t, a, AccountName(testUser), "INBOX", cat["INBOX"][idHex(dup)]))
	st2, err2 := os.Stat(fileOf(t, a, AccountName(testUser), "Archive/2019", cat["Archive/2019"][idHex(dup)]))
	if err1 != nil || err2 != nil || !os.SameFile(st1, st2) {
		t.Errorf("duplicate not hard-linked: %v %v", err1, err2)
	}
	if got := state(t, a, "memserver", "INBOX", keyLastUID); got != "32" {
		t.Errorf("INBOX lastuid %q, want 32", got)
	}

	// A rerun is one EXAMINE per folder and nothing else.
	selects, bodies := ms.selects.Load(), ms.bodyFetches.Load()
	var fetchesBefore int64
	for f := range want {
		fetchesBefore += ms.fetches(f)
	}
	_, rep = mustImport(t, a, testOptions(t, ms.Addr))
	if rep.New+rep.Linked+rep.Existing+rep.Failed != 0 {
		t.Errorf("rerun counts %+v, want nothing", rep.RunCounts)
	}
	var fetchesAfter int64
	for f := range want {
		fetchesAfter += ms.fetches(f)
	}
	if d := ms.selects.Load() - selects; d != 5 {
		t.Errorf("rerun: %d EXAMINEs, want 5 (one per folder)", d)
	}
	if fetchesAfter != fetchesBefore || ms.bodyFetches.Load() != bodies {
		t.Errorf("rerun sent FETCH commands (%d)", fetchesAfter-fetchesBefore)
	}

	// New mail is picked up.
	n1, n2 := testMessage(2000, "INBOX", 300), testMessage(2001, "收件箱", 300)
	ms.add("INBOX", n1, nil, d1)
	ms.add("收件箱", n2, []string{`\Seen`}, d2)
	want["INBOX"][idHex(n1)] = stored{"INBOX", n1, "", d1}
	want["收件箱"][idHex(n2)] = stored{"收件箱", n2, `\Seen`, d2}
	inboxFetches := ms.fetches("INBOX")
	sum, rep = mustImport(t, a, testOptions(t, ms.Addr))
	if rep.New != 2 || rep.Failed != 0 {
		t.Errorf("after new mail: %+v, want 2 new", rep.RunCounts)
	}
	if d := ms.fetches("INBOX") - inboxFetches; d != 2 {
		t.Errorf("INBOX: %d FETCH commands for one new message, want 2 (list, fetch)", d)
	}
	if fr := folderReport(t, sum, "收件箱"); fr.New != 1 {
		t.Errorf("收件箱 report %+v", fr)
	}
	checkArchive(t, a, want)
}

func TestFetchNOFailsOneMessage(t *testing.T) {
	ms := startMem(t, memOptions{})
	want := fill(ms, map[string]int{"INBOX": 10}, 400)
	ms.failFetch("INBOX", 4, true)
	ms.failFetch("INBOX", 7, true)
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)
	sum, rep := mustImport(t, a, o)
	if rep.Failed != 2 || rep.New != 8 {
		t.Fatalf("counts %+v, want 8 new, 2 failed", rep.RunCounts)
	}
	wheres := map[string]bool{}
	for _, p := range rep.Problems {
		wheres[p.Where] = p.Fatal
	}
	if !wheres["imap:INBOX/uid 4"] || !wheres["imap:INBOX/uid 7"] {
		t.Errorf("problems %+v, want imap:INBOX/uid 4 and 7", rep.Problems)
	}
	// The failing UIDs are isolated by parallel connections: any order.
	if fr := folderReport(t, sum, "INBOX"); fr.Failed != 2 || len(fr.Failures) != 2 || fr.Failures[0].UID+fr.Failures[1].UID != 11 {
		t.Errorf("folder report %+v", fr)
	}
	if got := state(t, a, "memserver", "INBOX", keyFailed); got != "4,7" {
		t.Errorf("failed state %q, want 4,7", got)
	}
	if got := state(t, a, "memserver", "INBOX", keyLastUID); got != "10" {
		t.Errorf("lastuid %q, want 10", got)
	}

	// Still failing: retried, reported again, nothing else fetched.
	ms.failFetch("INBOX", 7, false)
	_, rep = mustImport(t, a, o)
	if rep.Failed != 1 || rep.New != 1 {
		t.Errorf("second run %+v, want 1 new (uid 7), 1 failed (uid 4)", rep.RunCounts)
	}
	ms.failFetch("INBOX", 4, false)
	_, rep = mustImport(t, a, o)
	if rep.Failed != 0 || rep.New != 1 {
		t.Errorf("third run %+v, want 1 new", rep.RunCounts)
	}
	if got := state(t, a, "memserver", "INBOX", keyFailed); got != "" {
		t.Errorf("failed state %q after the retry, want empty", got)
	}
	checkArchive(t, a, want)
}

// Connections cut after n bytes of server output: the cut connection is
// replaced and the run completes; when every connection is cut, nothing
// partial is stored and a rerun completes.
func TestConnectionCut(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.create("Other")
	want := fill(ms, map[string]int{"INBOX": 24, "Other": 8}, 3000)
	for _, cut := range []int64{100, 700, 2500, 9000, 30000, 61000, 90000} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			// Only the first connection breaks: one run copes.
			p := startProxy(t, ms.Addr, func(n int) (int64, int64) {
				if n == 0 {
					return cut, -1
				}
				return -1, -1
			})
			a := archive.TestArchive(t)
			o := testOptions(t, p.Addr)
			_, rep := mustImport(t, a, o)
			if rep.Failed != 0 || rep.New != 32 {
				t.Errorf("one cut: %+v %+v", rep.RunCounts, rep.Problems)
			}
			checkArchive(t, a, want)

			// Every connection breaks at the same place.
			a = archive.TestArchive(t)
			p = startProxy(t, ms.Addr, func(int) (int64, int64) { return cut, -1 })
			o = testOptions(t, p.Addr)
			o.MaxRetries = 2
			_, rep, err := importInto(t, a, o)
			t.Logf("every connection cut at %d: %+v, err %v", cut, rep.RunCounts, err)
			got := catalog(t, a, AccountName(testUser))
			for folder, ids := range got {
				for id := range ids {
					if _, ok := want[folder][id]; !ok {
						t.Errorf("folder %s: partial or unknown message %s stored", folder, id[:12])
					}
				}
			}
			if n := tmpFiles(t, a, AccountName(testUser)); n > 0 {
				t.Errorf("%d files left in tmp/", n)
			}
			archive.TestVerify(t, a)
			o = testOptions(t, ms.Addr)
			_, rep = mustImport(t, a, o)
			if rep.Failed != 0 {
				t.Errorf("rerun: %+v", rep.Problems)
			}
			checkArchive(t, a, want)
			for f := range want {
				if s := state(t, a, "memserver", f, keyFailed); s != "" {
					t.Errorf("%s: failed state %q after a complete rerun", f, s)
				}
			}
		})
	}
}

func TestStalledServer(t *testing.T) {
	ms := startMem(t, memOptions{})
	want := fill(ms, map[string]int{"INBOX": 20}, 2000)
	// The first connection goes silent in the middle of the FETCH.
	p := startProxy(t, ms.Addr, func(n int) (int64, int64) {
		if n == 0 {
			return -1, 12000
		}
		return -1, -1
	})
	o := testOptions(t, p.Addr)
	o.IdleTimeout = 300 * time.Millisecond
	o.Connections = 1
	a := archive.TestArchive(t)
	start := time.Now()
	sum, rep := mustImport(t, a, o)
	if rep.Failed != 0 || rep.New != 20 {
		t.Errorf("counts %+v %+v", rep.RunCounts, rep.Problems)
	}
	if sum.Reconnects != 1 {
		t.Errorf("%d reconnects, want 1", sum.Reconnects)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: the stall was not noticed within the idle timeout", d)
	}
	checkArchive(t, a, want)
}

// A literal that takes many idle timeouts to arrive is fine while bytes flow.
func TestSlowLiteral(t *testing.T) {
	ms := startMem(t, memOptions{})
	big := testMessage(1, "INBOX", 3<<20)
	d := time.Date(2022, 2, 2, 2, 2, 2, 0, time.UTC)
	ms.add("INBOX", big, nil, d)
	// 16 KiB per 10 ms: about 1.6 MB/s, so the literal takes ~2 s.
	p := startRateProxy(t, ms.Addr, nil, 16<<10)
	o := testOptions(t, p.Addr)
	o.IdleTimeout = 250 * time.Millisecond
	a := archive.TestArchive(t)
	start := time.Now()
	sum, rep := mustImport(t, a, o)
	if rep.New != 1 || rep.Failed != 0 || sum.Reconnects != 0 {
		t.Fatalf("counts %+v, %d reconnects, problems %+v", rep.RunCounts, sum.Reconnects, rep.Problems)
	}
	if took := time.Since(start); took < 4*o.IdleTimeout {
		t.Errorf("the transfer took only %v; the test proves nothing", took)
	}
	checkArchive(t, a, map[string]map[string]stored{"INBOX": {idHex(big): {"INBOX", big, "", d}}})
}

func TestDotDelimiter(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.delim = '.'
	ms.create("Lists.golang")
	ms.create("a/b")
	ms.create("Trash")
	want := fill(ms, map[string]int{"INBOX": 2, "Lists.golang": 2, "a/b": 2, "Trash": 1}, 300)
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)
	o.Exclude = []string{"Trash"}
	sum, rep := mustImport(t, a, o)
	if rep.Failed != 0 || rep.New != 6 {
		t.Fatalf("counts %+v %+v", rep.RunCounts, rep.Problems)
	}
	var names []string
	for _, f := range sum.Folders {
		names = append(names, f.Folder)
	}
	if strings.Join(names, ",") != "INBOX,Lists/golang,a∕b" {
		t.Errorf("folders %q", names)
	}
	checkArchive(t, a, map[string]map[string]stored{
		"INBOX": want["INBOX"], "Lists/golang": relabel(want["Lists.golang"], "Lists/golang"), "a∕b": relabel(want["a/b"], "a∕b"),
	})
}

func relabel(m map[string]stored, folder string) map[string]stored {
	out := map[string]stored{}
	for id, s := range m {
		s.folder = folder
		out[id] = s
	}
	return out
}

func TestUIDValidityChange(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.create("Archive")
	want := fill(ms, map[string]int{"INBOX": 3, "Archive": 5}, 300)
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)
	mustImport(t, a, o)
	oldValidity := state(t, a, "memserver", "Archive", keyValidity)

	// The server loses the folder's UIDs: same messages, new UIDVALIDITY, one more.
	ms.recreate("Archive")
	for _, s := range want["Archive"] {
		var fl []string
		if s.flags != "" {
			fl = strings.Fields(s.flags)
		}
		ms.add("Archive", s.raw, fl, s.date)
	}
	extra := testMessage(99, "Archive", 300)
	ms.add("Archive", extra, nil, time.Unix(1600000000, 0))
	want["Archive"][idHex(extra)] = stored{"Archive", extra, "", time.Unix(1600000000, 0)}

	sum, rep := mustImport(t, a, o)
	fr := folderReport(t, sum, "Archive")
	if !fr.UIDValidityReset || fr.Existing != 5 || fr.New != 1 || rep.Failed != 0 {
		t.Errorf("after UIDVALIDITY change: %+v", fr)
	}
	if !strings.Contains(fr.Note, "UIDVALIDITY changed") {
		t.Errorf("note %q", fr.Note)
	}
	if v := state(t, a, "memserver", "Archive", keyValidity); v == oldValidity {
		t.Errorf("uidvalidity state not updated (%s)", v)
	}
	checkArchive(t, a, want)
	_, rep = mustImport(t, a, o)
	if rep.New+rep.Existing+rep.Linked != 0 {
		t.Errorf("rerun after the reset: %+v", rep.RunCounts)
	}
}

func TestDryRun(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.create("Sent")
	fill(ms, map[string]int{"INBOX": 4, "Sent": 2}, 300)
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)
	sum, err := DryRun(context.Background(), a, o, &importers.Report{})
	if err != nil {
		t.Fatal(err)
	}
	if fr := folderReport(t, sum, "INBOX"); fr.ToFetch != 4 || fr.ToFetchBytes == 0 || fr.Messages != 4 {
		t.Errorf("dry run INBOX %+v", fr)
	}
	if ms.bodyFetches.Load() != 0 || len(catalog(t, a, AccountName(testUser))) != 0 {
		t.Error("the dry run fetched or stored messages")
	}
	mustImport(t, a, o)
	sum, err = DryRun(context.Background(), a, o, &importers.Report{})
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range sum.Folders {
		if fr.ToFetch != 0 {
			t.Errorf("dry run after import: %s has %d to fetch", fr.Folder, fr.ToFetch)
		}
	}
}

func TestAuth(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.tokens[testUser] = "good-token"
	fill(ms, map[string]int{"INBOX": 1}, 200)
	for _, tc := range []struct {
		auth     Auth
		password string
		ok       bool
	}{
		{AuthAuto, testPass, true},
		{AuthLogin, testPass, true},
		{AuthPlain, testPass, true},
		{AuthXOAuth2, "good-token", true},
		{AuthOAuthBearer, "good-token", true},
		{AuthPlain, "wrong", false},
		{AuthLogin, "wrong", false},
		{AuthXOAuth2, "bad-token", false},
		{AuthOAuthBearer, "bad-token", false},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.auth, tc.ok), func(t *testing.T) {
			p := startProxy(t, ms.Addr, nil)
			o := testOptions(t, p.Addr)
			o.Auth, o.Password = tc.auth, tc.password
			a := archive.TestArchive(t)
			_, rep, err := importInto(t, a, o)
			if tc.ok {
				if err != nil || rep.New != 1 {
					t.Errorf("err %v, counts %+v", err, rep.RunCounts)
				}
				return
			}
			if !errors.Is(err, ErrAuth) {
				t.Errorf("err %v, want ErrAuth", err)
			}
			if n := p.Stats().Conns; n != 1 {
				t.Errorf("%d connections: a refused login must not be retried", n)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	srvCfg, cliCfg := selfSigned(t)
	t.Run("starttls", func(t *testing.T) {
		ms := startMem(t, memOptions{tls: srvCfg})
		fill(ms, map[string]int{"INBOX": 3}, 200)
		o := testOptions(t, ms.Addr)
		o.TLS, o.TLSConfig = "starttls", cliCfg
		_, rep := mustImport(t, archive.TestArchive(t), o)
		if rep.New != 3 {
			t.Errorf("counts %+v", rep.RunCounts)
		}
	})
	t.Run("implicit", func(t *testing.T) {
		ms := startMem(t, memOptions{tls: srvCfg, implicit: true})
		fill(ms, map[string]int{"INBOX": 3}, 200)
		o := testOptions(t, ms.Addr)
		o.TLS, o.TLSConfig = "tls", cliCfg
		_, rep := mustImport(t, archive.TestArchive(t), o)
		if rep.New != 3 {
			t.Errorf("counts %+v", rep.RunCounts)
		}
		// An untrusted certificate is refused at once.
		o.TLSConfig = nil
		_, _, err := importInto(t, archive.TestArchive(t), o)
		if err == nil || !permanent(err) {
			t.Errorf("untrusted certificate: err %v, want a permanent error", err)
		}
	})
	t.Run("no-starttls", func(t *testing.T) {
		ms := startMem(t, memOptions{})
		o := testOptions(t, ms.Addr)
		o.TLS = "starttls"
		_, _, err := importInto(t, archive.TestArchive(t), o)
		if !errors.Is(err, errNoStartTLS) {
			t.Errorf("err %v, want STARTTLS refused (no login in clear without --tls none)", err)
		}
	})
}

func TestIncludeExclude(t *testing.T) {
	ms := startMem(t, memOptions{})
	for _, f := range []string{"Archive", "Archive/2019", "Archive/2019/Q1", "Sent", "Trash"} {
		ms.create(f)
	}
	fill(ms, map[string]int{"INBOX": 1, "Archive": 1, "Archive/2019": 1, "Archive/2019/Q1": 1, "Sent": 1, "Trash": 1}, 200)
	o := testOptions(t, ms.Addr)
	o.Include = []string{"inbox", "Archive/*", "Sent"}
	o.Exclude = []string{"*/Q?"}
	sum, _ := mustImport(t, archive.TestArchive(t), o)
	var names []string
	for _, f := range sum.Folders {
		names = append(names, f.Folder)
	}
	if got := strings.Join(names, ","); got != "INBOX,Archive/2019,Sent" {
		t.Errorf("folders %s", got)
	}
}

// A server that accepts fewer connections than asked for: the run goes on
// with those it has.
func TestFewerConnections(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.create("Sent")
	want := fill(ms, map[string]int{"INBOX": 12, "Sent": 12}, 500)
	p := startProxy(t, ms.Addr, func(n int) (int64, int64) {
		if n > 0 {
			return 0, -1 // closed at once
		}
		return -1, -1
	})
	o := testOptions(t, p.Addr)
	o.MaxRetries = 2
	a := archive.TestArchive(t)
	_, rep := mustImport(t, a, o)
	if rep.New != 24 || rep.Failed != 0 {
		t.Errorf("counts %+v %+v", rep.RunCounts, rep.Problems)
	}
	checkArchive(t, a, want)
}

// blockingCounter holds the writer goroutine in its first Add until
// released, so that the workers fill the channel and wait.
type blockingCounter struct {
	once             sync.Once
	started, release chan struct{}
}

func (b *blockingCounter) AddTotal(int64, int64) {}
func (b *blockingCounter) Add(int64, int64) {
	b.once.Do(func() {
		close(b.started)
		<-b.release
	})
}

// Cancelling a run while workers are blocked with messages in flight ends
// it promptly; what was complete is kept and a rerun completes.
func TestCancel(t *testing.T) {
	ms := startMem(t, memOptions{})
	ms.create("Sent")
	want := fill(ms, map[string]int{"INBOX": 200, "Sent": 100}, 2000)
	a := archive.TestArchive(t)
	o := testOptions(t, ms.Addr)
	o.BatchMessages = 50
	ctx, cancel := context.WithCancel(context.Background())
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prog := &blockingCounter{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, w, o, &importers.Report{}, prog)
		done <- err
	}()
	<-prog.started
	time.Sleep(300 * time.Millisecond) // the workers fill the channel and block
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(prog.release)
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ids := range catalog(t, a, AccountName(testUser)) {
		n += len(ids)
	}
	t.Logf("%d of 300 messages archived before the cancel", n)
	if tmpFiles(t, a, AccountName(testUser)) != 0 {
		t.Error("files left in tmp/")
	}
	_, rep := mustImport(t, a, testOptions(t, ms.Addr))
	if int(rep.New)+n != 300 || rep.Failed != 0 {
		t.Errorf("rerun: %+v after %d", rep.RunCounts, n)
	}
	checkArchive(t, a, want)
}
