package imap

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
)

// limitSession gives an imapmemserver session an APPENDLIMIT.
type limitSession struct {
	imapserver.Session
	limit uint32
}

func (s limitSession) AppendLimit() uint32 { return s.limit }

// startMem runs go-imap's in-memory server (user carol/secret, '/' as the
// delimiter) with an APPENDLIMIT.
func startMem(t *testing.T, limit uint32) string {
	t.Helper()
	return startMemWith(t, func(s imapserver.Session) imapserver.Session { return limitSession{s, limit} })
}

// startMemWith runs go-imap's in-memory server (user carol/secret, '/' as
// the delimiter) with each session wrapped by wrap.
func startMemWith(t *testing.T, wrap func(imapserver.Session) imapserver.Session) string {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("carol", "secret")
	u.Create("INBOX", nil)
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return wrap(mem.NewSession()), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapLiteralPlus: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestAppendLimitDryRunFolderMap: messages above APPENDLIMIT are reported
// and not sent; --dry-run changes nothing and predicts the run; a folder
// map renames a folder and its subfolders.
func TestAppendLimitDryRunFolderMap(t *testing.T) {
	const limit = 6000
	addr := startMem(t, limit)
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 60, 4, false))
	sel := exportertest.SelectAll(t, a)
	exp := exportertest.Expected(t, sel)
	o := Options{Addr: addr, TLS: "none", User: "carol", Password: "secret", Logger: testLogger(t),
		FolderMap: []Mapping{{"Archive", "Old Archive"}}}

	dry := &exporters.Report{}
	if err := DryRun(context.Background(), a, sel, o, dry); err != nil {
		t.Fatal(err)
	}
	if got := fetchAll(t, addr, "carol", "secret"); len(got) != 0 {
		t.Errorf("dry run changed the server: %d folders with messages", len(got))
	}
	rep := runExport(t, a, sel, o)
	dt, rt := dry.Total(), rep.Total()
	if dt.Done != rt.Done || dt.Failed != rt.Failed {
		t.Errorf("dry run predicted %+v appended / %+v failed, the run did %+v / %+v", dt.Done, dt.Failed, rt.Done, rt.Failed)
	}

	got := fetchAll(t, addr, "carol", "secret")
	tooBig := 0
	for src, copies := range exp {
		folder := strings.TrimPrefix(src, "work/")
		if folder == "Archive" || strings.HasPrefix(folder, "Archive/") {
			folder = "Old Archive" + strings.TrimPrefix(folder, "Archive")
		}
		on := map[archive.ID]int{}
		for _, m := range got[folder] {
			on[m.ID]++
		}
		for _, c := range copies {
			want := 1
			if c.Size > limit {
				want = 0
				tooBig++
			}
			if on[c.ID] != want {
				t.Errorf("%s: %s (%d bytes) there %d times, want %d", folder, c.ID.Short(), c.Size, on[c.ID], want)
			}
		}
	}
	if tooBig == 0 || rt.Failed.Messages != int64(tooBig) {
		t.Errorf("%d messages above the limit, %d failed", tooBig, rt.Failed.Messages)
	}
	probs, _ := rep.Problems()
	for _, p := range probs {
		if !strings.Contains(p.Error, "APPENDLIMIT") {
			t.Errorf("unexpected problem %s: %s", p.Where, p.Error)
		}
	}
	for _, f := range rep.Folders() {
		if strings.HasPrefix(f.Folder, "Archive") {
			t.Errorf("folder %s was not renamed by the folder map", f.Folder)
		}
	}
}
