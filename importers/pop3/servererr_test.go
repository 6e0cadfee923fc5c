package pop3

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailark/mailark/archive"
)

// Server-side errors (issue #9). -ERR to RETR is covered by
// TestImportRetrError (the message fails, named by number and UIDL with
// the server's text; the others are archived; the rerun fetches it) and
// TestImportDelete (with --delete the refused message stays on the
// server); -ERR to UIDL by TestImportNoUIDL. This file covers -ERR to
// LIST, which pop3test cannot inject: a proxy answers it.

// listRefuser forwards a POP3 session and answers the first refuse LIST
// commands itself with answer. The client sends LIST alone and waits for
// its answer, so the answer cannot overtake one of the server's.
type listRefuser struct {
	Addr    string
	answer  string
	refuse  atomic.Int64
	refused atomic.Int64
}

func startListRefuser(t *testing.T, target string, refuse int64, answer string) *listRefuser {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &listRefuser{Addr: ln.Addr().String(), answer: answer}
	p.refuse.Store(refuse)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c, target)
		}
	}()
	return p
}

func (p *listRefuser) handle(client net.Conn, target string) {
	defer client.Close()
	server, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { io.Copy(client, server); client.Close() }()
	br := bufio.NewReader(client)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.EqualFold(strings.TrimSpace(line), "LIST") && p.refuse.Add(-1) >= 0 {
			p.refused.Add(1)
			if _, err := io.WriteString(client, p.answer+"\r\n"); err != nil {
				return
			}
			continue
		}
		if _, err := io.WriteString(server, line); err != nil {
			return
		}
	}
}

// TestServerErrListRefused: without a listing nothing can be fetched or
// deleted, so -ERR to LIST ends the run with an error that says so, and
// nothing is stored or deleted; the rerun imports everything.
func TestServerErrListRefused(t *testing.T) {
	msgs := mailbox(4)
	srv := newServer(t, msgs, nil)
	p := startListRefuser(t, srv.Addr, 1, "-ERR maildrop index unreadable")
	a := archive.TestArchive(t)
	viaProxy := func(c *Config) { c.Addr = p.Addr; c.Delete = true }

	res, rep, err := importOnce(t, a, srv, viaProxy)
	if p.refused.Load() != 1 {
		t.Fatalf("LIST refused %d times, want 1", p.refused.Load())
	}
	if err == nil || !strings.Contains(err.Error(), "listing messages") || !strings.Contains(err.Error(), "maildrop index unreadable") {
		t.Errorf("error %v, want one naming the LIST and the server's answer", err)
	}
	if rep.New+rep.Existing+rep.Failed != 0 || res.Deleted != 0 {
		t.Errorf("counts %+v, deleted %d; want nothing", rep.RunCounts, res.Deleted)
	}
	if n := len(entries(t, a)); n != 0 {
		t.Errorf("%d messages archived without a listing", n)
	}
	if n := len(srv.Mailbox(testUser)); n != len(msgs) {
		t.Errorf("server keeps %d messages, want %d", n, len(msgs))
	}

	res, rep, err = importOnce(t, a, srv, viaProxy)
	if err != nil || rep.New != int64(len(msgs)) || rep.Failed != 0 || res.Deleted != len(msgs) {
		t.Fatalf("rerun: %+v %+v %v", rep.RunCounts, res, err)
	}
	checkArchived(t, a, msgs)
}

// TestServerErrListTemporary: -ERR [SYS/TEMP] or [IN-USE] to LIST is a
// passing state (RFC 2449 §8.1.2): the import tries another session after
// a pause and completes in the same run. A server that keeps answering so
// is given up after the retries, with the server's answer in the error.
func TestServerErrListTemporary(t *testing.T) {
	for _, answer := range []string{"-ERR [SYS/TEMP] maildrop index unreadable", "-ERR [IN-USE] maildrop locked"} {
		msgs := mailbox(3)
		srv := newServer(t, msgs, nil)
		p := startListRefuser(t, srv.Addr, 2, answer)
		a := archive.TestArchive(t)
		res, rep, err := importOnce(t, a, srv, func(c *Config) { c.Addr = p.Addr; c.Delete = true })
		if err != nil || p.refused.Load() != 2 {
			t.Fatalf("%s twice: err %v, LIST refused %d times", answer, err, p.refused.Load())
		}
		if rep.New != int64(len(msgs)) || res.Deleted != len(msgs) || res.Sessions != 3 {
			t.Errorf("%s twice: %+v %+v, want %d new and deleted in the third session", answer, rep.RunCounts, res, len(msgs))
		}
		checkArchived(t, a, msgs)

		srv = newServer(t, msgs, nil)
		p = startListRefuser(t, srv.Addr, 1000, answer)
		a = archive.TestArchive(t)
		_, rep, err = importOnce(t, a, srv, func(c *Config) { c.Addr = p.Addr; c.Retries = 2 })
		if err == nil || !strings.Contains(err.Error(), "giving up") || !strings.Contains(err.Error(), answer[len("-ERR "):]) {
			t.Errorf("%s always: error %v, want giving up with the server's answer", answer, err)
		}
		if p.refused.Load() != 3 || rep.New != 0 {
			t.Errorf("%s always: LIST refused %d times (want 3: the first try and 2 retries), %d new", answer, p.refused.Load(), rep.New)
		}
	}
}
