package imapserver

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"
	"golang.org/x/crypto/bcrypt"
)

// TestSearchByIDs: criteria that need only message numbers and the index
// (answered from the catalog's UIDs and IDs alone) give what the same
// criteria give when a catalog criterion that every message meets forces
// the reading of whole entries.
func TestSearchByIDs(t *testing.T) {
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	c := dial(t, addr)
	c.login("alice")
	c.transactf("OK", "EXAMINE INBOX")
	nonEmpty := 0
	for _, q := range []string{
		"ALL", "TEXT the", "NOT TEXT the", "BODY the", "OR TEXT the BODY report", "2:10 TEXT the",
		"UID 3:* NOT BODY the", "NOT (TEXT the UID 1:5)", "TEXT zzzznothing", `TEXT "the migration is complete"`,
	} {
		for _, cmd := range []string{"SEARCH", "UID SEARCH"} {
			got := c.transactf("OK", "%s %s", cmd, q)
			want := c.transactf("OK", "%s %s SMALLER 2000000000", cmd, q)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: %q, with a catalog criterion %q", cmd, q, got, want)
			}
			if len(got) == 1 && got[0] != "* SEARCH" {
				nonEmpty++
			}
		}
	}
	if nonEmpty < 10 {
		t.Errorf("only %d searches found something: the comparison proves little", nonEmpty)
	}
}

// TestIDsOnly: which criteria take the path that reads only UIDs and IDs.
func TestIDsOnly(t *testing.T) {
	f := sharedFixture(t)
	with := &evaluator{s: &Session{srv: &Server{cfg: Config{Archive: f.arch, Index: f.ix}}}}
	without := &evaluator{s: &Session{srv: &Server{cfg: Config{Archive: f.arch}}}}
	set := imap.UIDSet{{Start: 1, Stop: 5}}
	for _, tc := range []struct {
		name           string
		c              imap.SearchCriteria
		index, noIndex bool
	}{
		{"all", imap.SearchCriteria{}, true, true},
		{"uid", imap.SearchCriteria{UID: []imap.UIDSet{set}}, true, true},
		{"text", imap.SearchCriteria{Text: []string{"x"}}, true, false},
		{"not body", imap.SearchCriteria{Not: []imap.SearchCriteria{{Body: []string{"x"}}}}, true, false},
		{"or text uid", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Text: []string{"x"}}, {UID: []imap.UIDSet{set}}}}}, true, false},
		{"flag", imap.SearchCriteria{Text: []string{"x"}, Flag: []imap.Flag{imap.FlagSeen}}, false, false},
		{"or with size", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Text: []string{"x"}}, {Larger: 10}}}}, false, false},
		{"not header", imap.SearchCriteria{Not: []imap.SearchCriteria{{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "x"}}}}}, false, false},
		{"since", imap.SearchCriteria{Since: time.Now()}, false, false},
		{"modseq", imap.SearchCriteria{ModSeq: &imap.SearchCriteriaModSeq{}}, false, false},
	} {
		if got := with.idsOnly(&tc.c); got != tc.index {
			t.Errorf("%s, with an index: idsOnly = %v", tc.name, got)
		}
		if got := without.idsOnly(&tc.c); got != tc.noIndex {
			t.Errorf("%s, without an index: idsOnly = %v", tc.name, got)
		}
	}
}

// TestEachID: messages are numbered by their place in the selection's
// snapshot; entries the snapshot lacks (archived since) are skipped, and
// so are snapshot UIDs the catalog no longer has.
func TestEachID(t *testing.T) {
	f := sharedFixture(t)
	ctx := context.Background()
	fs, err := f.arch.Folders(ctx, []string{"work"})
	if err != nil {
		t.Fatal(err)
	}
	var inbox archive.Folder
	for _, x := range fs {
		if x.Name == archive.Inbox {
			inbox = x
		}
	}
	ents, err := f.arch.Entries(ctx, inbox, 0, 1<<31, 100000)
	if err != nil || len(ents) < 10 {
		t.Fatalf("%d entries, %v", len(ents), err)
	}
	ids := map[uint32]archive.ID{}
	var snap []imap.UID
	for i, e := range ents {
		ids[e.UID] = e.ID
		if i%3 != 1 && i < len(ents)-2 { // some skipped, and the last two "archived since"
			snap = append(snap, imap.UID(e.UID))
		}
	}
	snap = append(snap, imap.UID(ents[len(ents)-1].UID+1000)) // gone from the catalog
	s := &Session{srv: &Server{cfg: Config{Archive: f.arch}}}
	var got []string
	err = s.eachID(ctx, inbox, snap, func(m seqUID, e *archive.Entry) error {
		if snap[m.seq-1] != m.uid || imap.UID(e.UID) != m.uid || ids[e.UID] != e.ID {
			t.Errorf("seq %d uid %d: entry uid %d id %s", m.seq, m.uid, e.UID, e.ID.Short())
		}
		got = append(got, strconv.Itoa(int(m.uid)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range snap {
		if _, ok := ids[uint32(u)]; ok {
			want = append(want, strconv.Itoa(int(u)))
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("visited %v, want %v", got, want)
	}
}

// BenchmarkSearchText times SEARCH over loopback on an existing archive,
// read-only: MAILARK_BENCH_ARCHIVE=DIR (e.g. 100,000 messages from
// gencorpus), MAILARK_BENCH_FOLDER (default INBOX; the account's name
// comes first when the archive has several).
func BenchmarkSearchText(b *testing.B) {
	dir := os.Getenv("MAILARK_BENCH_ARCHIVE")
	if dir == "" {
		b.Skip("set MAILARK_BENCH_ARCHIVE to an archive with a search index")
	}
	folder := os.Getenv("MAILARK_BENCH_FOLDER")
	if folder == "" {
		folder = "INBOX"
	}
	ctx := context.Background()
	a, err := archive.Open(ctx, dir, archive.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ix, err := search.OpenReadOnly(search.Dir(dir))
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	users := filepath.Join(b.TempDir(), "users")
	h, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err := WriteUsersFile(users, []User{{Name: "alice", Hash: string(h), Accounts: []string{AllAccounts}}}); err != nil {
		b.Fatal(err)
	}
	_, addr := startServer(b, Config{Archive: a, Index: ix, UsersFile: users, PlainLoopback: true,
		LoginDelay: 20 * time.Millisecond, MaxLoginDelay: 160 * time.Millisecond})
	c := dial(b, addr)
	c.login("alice")
	c.transactf("OK", "EXAMINE %q", folder)
	for _, tc := range []struct{ name, q string }{
		{"rare", "TEXT quokka"},
		{"common", "TEXT migration"},
		{"none", "TEXT zzzznothing"},
		{"phrase", `TEXT "the migration is complete"`},
		{"body", "BODY invoice"},
		{"unseen", "UNSEEN"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				c.transactf("OK", "SEARCH %s", tc.q)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time of the process so far: on a shared machine it
// varies much less with the load than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
