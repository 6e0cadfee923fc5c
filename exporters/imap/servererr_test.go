package imap

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
)

// Server-side errors (issue #9): a refused APPEND, CREATE or SELECT fails
// (or warns about) exactly what it concerns, the rest is exported, the
// report names the message or folder with the server's answer, nothing is
// recorded for what the server did not take, and a rerun without the
// fault completes the export without appending anything twice.

// exportFaults are the answers a faultSession gives instead of the
// memserver's.
type exportFaults struct {
	mu        sync.Mutex
	appendErr map[archive.ID]*imap.Error // by the appended bytes' ID
	createErr map[string]*imap.Error     // by mailbox
	selectErr map[string]*imap.Error     // read-write SELECT, by mailbox
	examErr   map[string]*imap.Error     // EXAMINE, by mailbox
}

func (f *exportFaults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appendErr, f.createErr, f.selectErr, f.examErr = nil, nil, nil, nil
}

type faultSession struct {
	imapserver.Session
	f *exportFaults
}

type bytesLiteral struct {
	*bytes.Reader
	n int64
}

func (l bytesLiteral) Size() int64 { return l.n }

// Append reads the literal first, as a server does that refuses after
// receiving the message (quota, size or content checks).
func (s *faultSession) Append(mailbox string, r imap.LiteralReader, o *imap.AppendOptions) (*imap.AppendData, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s.f.mu.Lock()
	e := s.f.appendErr[archive.Sum(raw)]
	s.f.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.Session.Append(mailbox, bytesLiteral{bytes.NewReader(raw), int64(len(raw))}, o)
}

func (s *faultSession) Create(mailbox string, o *imap.CreateOptions) error {
	s.f.mu.Lock()
	e := s.f.createErr[mailbox]
	s.f.mu.Unlock()
	if e != nil {
		return e
	}
	return s.Session.Create(mailbox, o)
}

func (s *faultSession) Select(mailbox string, o *imap.SelectOptions) (*imap.SelectData, error) {
	s.f.mu.Lock()
	e, ex := s.f.selectErr[mailbox], s.f.examErr[mailbox]
	s.f.mu.Unlock()
	if e != nil && !o.ReadOnly {
		return nil, e
	}
	if ex != nil && o.ReadOnly {
		return nil, ex
	}
	return s.Session.Select(mailbox, o)
}

// startFaultMem runs go-imap's in-memory server (user carol/secret) with
// the faults of f.
func startFaultMem(t *testing.T, f *exportFaults) string {
	t.Helper()
	return startMemWith(t, func(s imapserver.Session) imapserver.Session { return &faultSession{Session: s, f: f} })
}

// onServer counts each message ID per mailbox of the target.
func onServer(t *testing.T, addr string) map[string]map[archive.ID]int {
	t.Helper()
	out := map[string]map[archive.ID]int{}
	for mbox, msgs := range fetchAll(t, addr, "carol", "secret") {
		out[mbox] = map[archive.ID]int{}
		for _, m := range msgs {
			out[mbox][m.ID]++
		}
	}
	return out
}

// checkTarget compares the target with the selection: every (folder,
// message) once, except those in missing (folder -> IDs), which must be
// absent.
func checkTarget(t *testing.T, addr string, exp map[string][]exportertest.Copy, missing map[string]map[archive.ID]bool) {
	t.Helper()
	got := onServer(t, addr)
	for src, copies := range exp {
		folder := strings.TrimPrefix(src, "work/")
		for _, c := range copies {
			want := 1
			if missing[folder][c.ID] {
				want = 0
			}
			if n := got[folder][c.ID]; n != want {
				t.Errorf("%s: %s there %d times, want %d", folder, c.ID.Short(), n, want)
			}
		}
	}
}

func exportOptions(addr string) Options {
	return Options{Addr: addr, TLS: "none", User: "carol", Password: "secret", Connections: 2}
}

// distinct counts the selected (target folder, message) pairs.
func distinct(exp map[string][]exportertest.Copy) int64 {
	n := 0
	for _, copies := range exp {
		seen := map[archive.ID]bool{}
		for _, c := range copies {
			if !seen[c.ID] {
				seen[c.ID] = true
				n++
			}
		}
	}
	return int64(n)
}

// TestServerErrAppendRefused: APPEND answered NO [OVERQUOTA], NO [TOOBIG]
// or BAD fails that message only, named with the answer; it gets no
// receipt, so the rerun appends exactly it.
func TestServerErrAppendRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		err  *imap.Error
		want string
	}{
		{"overquota", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded"}, "NO [OVERQUOTA] Quota exceeded"},
		{"toobig", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too large"}, "NO [TOOBIG] Message too large"},
		{"bad", &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Invalid message"}, "BAD Invalid message"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &exportFaults{}
			addr := startFaultMem(t, f)
			a := archive.TestArchive(t)
			exportertest.Fill(t, a, "work", exportertest.Corpus(t, 16, 3, false))
			sel := exportertest.SelectAll(t, a)
			exp := exportertest.Expected(t, sel)
			// Refuse the first message of two folders.
			missing := map[string]map[archive.ID]bool{}
			f.appendErr = map[archive.ID]*imap.Error{}
			for _, copies := range exp {
				if len(f.appendErr) == 2 {
					break
				}
				f.appendErr[copies[0].ID] = c.err
			}
			var wantFailed int64
			for src, copies := range exp {
				folder := strings.TrimPrefix(src, "work/")
				for _, cp := range copies {
					if f.appendErr[cp.ID] != nil && !missing[folder][cp.ID] {
						if missing[folder] == nil {
							missing[folder] = map[archive.ID]bool{}
						}
						missing[folder][cp.ID] = true
						wantFailed++
					}
				}
			}
			o := exportOptions(addr)

			rep := runExport(t, a, sel, o)
			tot := rep.Total()
			if tot.Failed.Messages != wantFailed || tot.Done.Messages != distinct(exp)-wantFailed || tot.Left.Messages != 0 {
				t.Errorf("done %d failed %d left %d; want %d, %d, 0", tot.Done.Messages, tot.Failed.Messages, tot.Left.Messages, distinct(exp)-wantFailed, wantFailed)
			}
			probs, _ := rep.Problems()
			if int64(len(probs)) != wantFailed {
				t.Errorf("%d problems, want %d: %+v", len(probs), wantFailed, probs)
			}
			for _, p := range probs {
				named := false
				for id := range f.appendErr {
					named = named || strings.Contains(p.Where, id.Short())
				}
				if !p.Fatal || !named || !strings.Contains(p.Where, "work/") || !strings.Contains(p.Error, "server refused APPEND to ") || !strings.Contains(p.Error, c.want) {
					t.Errorf("problem %s: %s (failed %v): want the message named and %q", p.Where, p.Error, p.Fatal, c.want)
				}
			}
			checkTarget(t, addr, exp, missing)

			f.clear()
			rep = runExport(t, a, sel, o)
			if tot := rep.Total(); tot.Done.Messages != wantFailed || tot.Failed.Messages != 0 || tot.Already.Messages != distinct(exp)-wantFailed {
				t.Errorf("rerun: done %d failed %d already %d; want %d, 0, %d", tot.Done.Messages, tot.Failed.Messages, tot.Already.Messages, wantFailed, distinct(exp)-wantFailed)
			}
			checkTarget(t, addr, exp, nil)
		})
	}
}

// TestServerErrCreateRefused: CREATE of a target folder answered NO fails
// that folder's messages (one line naming the folder and the answer),
// the other folders are exported, and the rerun creates and fills it.
func TestServerErrCreateRefused(t *testing.T) {
	f := &exportFaults{}
	addr := startFaultMem(t, f)
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 16, 3, false))
	sel := exportertest.SelectAll(t, a)
	exp := exportertest.Expected(t, sel)
	var victim string
	for src := range exp {
		if folder := strings.TrimPrefix(src, "work/"); folder != "INBOX" && (victim == "" || folder < victim) {
			victim = folder
		}
	}
	if victim == "" {
		t.Fatal("the corpus has no folder besides INBOX")
	}
	f.createErr = map[string]*imap.Error{victim: {Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm, Text: "Permission denied"}}
	o := exportOptions(addr)

	rep := runExport(t, a, sel, o)
	var fr *exporters.FolderReport
	for _, r := range rep.Folders() {
		if r.Folder == victim {
			fr = r
		}
	}
	if fr == nil {
		t.Fatalf("no report for %s", victim)
	}
	if fr.Failed != fr.Selected || fr.Done.Messages != 0 || fr.Created || !strings.Contains(fr.Note, "creating folder "+victim) {
		t.Errorf("%s report %+v", victim, fr)
	}
	probs, _ := rep.Problems()
	if len(probs) != 1 {
		t.Fatalf("problems %+v, want one for %s", probs, victim)
	}
	p := probs[0]
	if !p.Fatal || p.Where != "imap:"+victim || !strings.Contains(p.Error, "messages not exported: creating folder "+victim) || !strings.Contains(p.Error, "NO [NOPERM] Permission denied") {
		t.Errorf("problem %s: %s (failed %v)", p.Where, p.Error, p.Fatal)
	}
	tot := rep.Total()
	if tot.Failed != fr.Failed || tot.Done.Messages != distinct(exp)-fr.Selected.Messages {
		t.Errorf("total done %d failed %d; the other folders must be complete", tot.Done.Messages, tot.Failed.Messages)
	}
	got := onServer(t, addr)
	if _, ok := got[victim]; ok {
		t.Errorf("%s exists on the target", victim)
	}
	missing := map[string]map[archive.ID]bool{victim: {}}
	for _, c := range exp["work/"+victim] {
		missing[victim][c.ID] = true
	}
	checkTarget(t, addr, exp, missing)

	f.clear()
	rep = runExport(t, a, sel, o)
	if tot := rep.Total(); tot.Done != fr.Selected || tot.Failed.Messages != 0 {
		t.Errorf("rerun: done %+v failed %+v; want %+v done", tot.Done, tot.Failed, fr.Selected)
	}
	checkTarget(t, addr, exp, nil)
}

// TestServerErrSelectRefused: the exporter SELECTs a target folder only to
// speed the server up; refused (NO), it warns naming the folder and the
// answer, and appends all the same.
func TestServerErrSelectRefused(t *testing.T) {
	f := &exportFaults{}
	addr := startFaultMem(t, f)
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 16, 3, false))
	sel := exportertest.SelectAll(t, a)
	exp := exportertest.Expected(t, sel)
	f.selectErr = map[string]*imap.Error{}
	for src := range exp {
		f.selectErr[strings.TrimPrefix(src, "work/")] = &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Mailbox is locked"}
	}
	o := exportOptions(addr)

	rep := runExport(t, a, sel, o)
	tot := rep.Total()
	if tot.Done.Messages != distinct(exp) || tot.Failed.Messages != 0 {
		t.Errorf("done %d failed %d; want %d, 0", tot.Done.Messages, tot.Failed.Messages, distinct(exp))
	}
	probs, _ := rep.Problems()
	warned := map[string]bool{}
	for _, p := range probs {
		if p.Fatal || !strings.Contains(p.Error, "SELECT refused") || !strings.Contains(p.Error, "NO Mailbox is locked") {
			t.Errorf("problem %s: %s (failed %v)", p.Where, p.Error, p.Fatal)
		}
		warned[p.Where] = true
	}
	for mbox := range f.selectErr {
		if !warned["imap:"+mbox] {
			t.Errorf("no warning for %s", mbox)
		}
	}
	checkTarget(t, addr, exp, nil)

	f.clear()
	rep = runExport(t, a, sel, o)
	if tot := rep.Total(); tot.Done.Messages != 0 || tot.Already.Messages != distinct(exp) {
		t.Errorf("rerun: done %d already %d; want 0, %d", tot.Done.Messages, tot.Already.Messages, distinct(exp))
	}
	checkTarget(t, addr, exp, nil)
}

// TestServerErrExamineRefused: a folder the server lists but refuses to
// EXAMINE cannot be reconciled, so the messages without a receipt there
// (here: receipts lost, as after a kill between APPEND and the commit) are
// failed, not appended a second time; the other folders go on, and a rerun
// with EXAMINE allowed finds them there and appends nothing twice.
func TestServerErrExamineRefused(t *testing.T) {
	f := &exportFaults{}
	addr := startFaultMem(t, f)
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 16, 4, false))
	sel := exportertest.SelectAll(t, a)
	exp := exportertest.Expected(t, sel)
	o := exportOptions(addr)
	if tot := runExport(t, a, sel, o).Total(); tot.Failed.Messages != 0 {
		t.Fatalf("first export: %+v", tot)
	}
	var victim string
	for src := range exp {
		victim = strings.TrimPrefix(src, "work/")
		break
	}
	var lost []archive.ID
	for _, c := range exp["work/"+victim] {
		lost = append(lost, c.ID)
	}
	if err := a.DropReceipts(t.Context(), archive.ReceiptScope{Target: o.Target(), User: o.User, Folder: victim}, lost); err != nil {
		t.Fatal(err)
	}
	f.examErr = map[string]*imap.Error{victim: {Type: imap.StatusResponseTypeNo, Text: "Temporary failure"}}

	rep := runExport(t, a, sel, o)
	probs, _ := rep.Problems()
	found := false
	for _, p := range probs {
		if p.Where == "imap:"+victim && p.Fatal && strings.Contains(p.Error, "cannot check what the folder already holds") && strings.Contains(p.Error, "Temporary failure") {
			found = true
		}
	}
	if !found {
		t.Errorf("no failure naming %s and the refused EXAMINE: %+v", victim, probs)
	}
	if tot := rep.Total(); tot.Done.Messages != 0 || tot.Failed.Messages == 0 {
		t.Errorf("done %d failed %d; want nothing appended and the folder failed", tot.Done.Messages, tot.Failed.Messages)
	}
	f.clear()                      // checkTarget reads with EXAMINE
	checkTarget(t, addr, exp, nil) // everything once: nothing appended twice

	rep = runExport(t, a, sel, o)
	if tot := rep.Total(); tot.Done.Messages != 0 || tot.Failed.Messages != 0 || tot.Found.Messages == 0 {
		t.Errorf("rerun: done %d failed %d found %d; want 0, 0 and the lost receipts found", tot.Done.Messages, tot.Failed.Messages, tot.Found.Messages)
	}
	checkTarget(t, addr, exp, nil)
}
