package archive

import (
	"context"
	"testing"
)

func TestReceipts(t *testing.T) {
	a := TestArchive(t)
	ctx := context.Background()
	sc := ReceiptScope{Target: "imap://h:143", User: "u", Folder: "INBOX"}
	other := ReceiptScope{Target: "imap://h:143", User: "u", Folder: "Sent"}
	id1, id2 := Sum([]byte("one\r\n")), Sum([]byte("two\r\n"))
	err := a.AddReceipts(ctx, []Receipt{
		{Target: sc.Target, User: sc.User, Folder: sc.Folder, ID: id1, UIDValidity: 7, UID: 1, Size: 5, How: ReceiptAppended, Run: 3},
		{Target: sc.Target, User: sc.User, Folder: sc.Folder, ID: id2, Size: 5, How: ReceiptFound},
		{Target: other.Target, User: other.User, Folder: other.Folder, ID: id1, Size: 5, How: ReceiptAppended},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The first confirmation stands.
	if err := a.AddReceipts(ctx, []Receipt{{Target: sc.Target, User: sc.User, Folder: sc.Folder, ID: id1, UID: 99, Size: 5, How: ReceiptFound}}); err != nil {
		t.Fatal(err)
	}
	got, err := a.Receipts(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[id1].UID != 1 || got[id1].UIDValidity != 7 || got[id1].How != ReceiptAppended || got[id1].Run != 3 || got[id2].How != ReceiptFound {
		t.Errorf("receipts %+v", got)
	}
	if err := a.DropReceipts(ctx, sc, []ID{id1}); err != nil {
		t.Fatal(err)
	}
	got, _ = a.Receipts(ctx, sc)
	o, _ := a.Receipts(ctx, other)
	if len(got) != 1 || len(o) != 1 {
		t.Errorf("after drop: %d in scope, %d in the other; want 1 and 1", len(got), len(o))
	}

	// Read-only: readable, not writable.
	ro, err := Open(ctx, a.Dir(), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got, err := ro.Receipts(ctx, sc); err != nil || len(got) != 1 {
		t.Errorf("read-only Receipts: %v %v", got, err)
	}
	if err := ro.AddReceipts(ctx, []Receipt{{ID: id1}}); err == nil {
		t.Error("read-only AddReceipts succeeded")
	}
}

// TestMarkSending: a message marked as being sent reads back as
// ReceiptSending, its confirmation replaces the mark, a mark never
// replaces a confirmation, and later commits are durable again.
func TestMarkSending(t *testing.T) {
	a := TestArchive(t)
	ctx := context.Background()
	sc := ReceiptScope{Target: "smtp://h:25", User: "me@example.org", Folder: "you@example.org"}
	id1, id2 := Sum([]byte("one\r\n")), Sum([]byte("two\r\n"))
	mark := func(id ID) {
		t.Helper()
		if err := a.MarkSending(ctx, Receipt{Target: sc.Target, User: sc.User, Folder: sc.Folder, ID: id, Size: 5, Run: 4}); err != nil {
			t.Fatal(err)
		}
	}
	mark(id1)
	got, err := a.Receipts(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if r := got[id1]; len(got) != 1 || r.How != ReceiptSending || r.Run != 4 || r.Size != 5 {
		t.Fatalf("after MarkSending: %+v", got)
	}
	sent := []Receipt{{Target: sc.Target, User: sc.User, Folder: sc.Folder, ID: id1, Size: 5, How: ReceiptSent, Run: 5}}
	if err := a.AddReceipts(ctx, sent); err != nil {
		t.Fatal(err)
	}
	mark(id1) // a confirmed message marked again (a rerun) keeps its receipt
	got, _ = a.Receipts(ctx, sc)
	if r := got[id1]; r.How != ReceiptSent || r.Run != 5 {
		t.Errorf("confirmation after the mark: %+v, want how sent, run 5", r)
	}
	mark(id2)
	if err := a.DropReceipts(ctx, sc, []ID{id2}); err != nil {
		t.Fatal(err)
	}
	if got, _ = a.Receipts(ctx, sc); len(got) != 1 {
		t.Errorf("a dropped mark is still there: %+v", got)
	}
	var sync int
	if err := a.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous after MarkSending: %d (%v), want 2 (FULL)", sync, err)
	}
}
