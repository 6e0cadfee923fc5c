package archive

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

func TestReadQueries(t *testing.T) {
	a := TestArchive(t)
	ctx := context.Background()
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs := []struct {
		acct, folder, raw string
		flags             []string
	}{
		{"work", "INBOX", "Subject: a\n\nbare LF\n", []string{FlagSeen}},
		{"work", "INBOX", "Subject: b\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\nb\r\n", nil},
		{"work", "Archive/2019", "Subject: a\n\nbare LF\n", []string{FlagDeleted}},
		{"home", "INBOX", "Subject: c\r\n\r\nc\r\n", nil},
	}
	for _, m := range msgs {
		if _, err := w.Deliver(ctx, bytes.NewReader([]byte(m.raw)), Meta{Account: m.acct, Folder: m.folder, Flags: m.flags, InternalDate: date}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := a.Folders(ctx, nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("folders: %v %v", all, err)
	}
	work, err := a.Folders(ctx, []string{"work"})
	if err != nil || len(work) != 2 || work[0].Name != "Archive/2019" || work[1].Name != Inbox || work[1].UIDNext != 3 {
		t.Fatalf("work folders: %+v %v", work, err)
	}
	if none, _ := a.Folders(ctx, []string{}); len(none) != 0 {
		t.Fatalf("no accounts: %v", none)
	}
	c, err := a.CountFolder(ctx, work[1].ID)
	if err != nil || c.Messages != 2 || c.Unseen != 1 || c.Deleted != 0 || c.Size != int64(len("Subject: a\r\n\r\nbare LF\r\n")+len(msgs[1].raw)) {
		t.Fatalf("counts %+v %v", c, err)
	}
	var uids []uint32
	a.FolderUIDs(ctx, work[1].ID, 1, func(uid uint32, _ []string) { uids = append(uids, uid) })
	if len(uids) != 1 || uids[0] != 2 {
		t.Fatalf("uids after 1: %v", uids)
	}
	ents, err := a.Entries(ctx, work[1], 1, 2, 10)
	if err != nil || len(ents) != 2 {
		t.Fatalf("entries %v %v", ents, err)
	}
	e := ents[0]
	if e.UID != 1 || e.Size != int64(len(msgs[0].raw)) || e.CRLFSize != e.Size+3 || !e.InternalDate.Equal(date) || !e.Date.IsZero() || e.Flags[0] != FlagSeen {
		t.Fatalf("entry %+v", e)
	}
	if b, err := os.ReadFile(e.Path); err != nil || string(b) != msgs[0].raw {
		t.Fatalf("file %s: %q %v", e.Path, b, err)
	}
	if ents[1].Date.IsZero() || ents[1].ID != Sum([]byte(msgs[1].raw)) {
		t.Fatalf("entry 2 %+v", ents[1])
	}
	// The copy in another folder is its own file (a link), with its own flags.
	arch, _ := a.Entries(ctx, work[0], 0, 1<<31, 10)
	if len(arch) != 1 || arch[0].ID != e.ID || arch[0].Path == e.Path || arch[0].Flags[0] != FlagDeleted {
		t.Fatalf("archive entry %+v", arch)
	}
}
