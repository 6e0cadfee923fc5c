package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/testcorpus"
)

// TestDovecotRoundTrip appends a corpus with every odd kind of message
// into a real Dovecot, fetches everything back and compares bytes (by
// ID), flags (keywords too) and INTERNALDATE per folder; then a rerun
// appends nothing and --verify finds everything.
func TestDovecotRoundTrip(t *testing.T) {
	d := dovecottest.Start(t, dovecottest.Options{})
	a := archive.TestArchive(t)
	msgs := exportertest.Corpus(t, 240, 7, true)
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	exp := exportertest.Expected(t, sel)

	o := dovecotOptions(t, d)
	rep := runExport(t, a, sel, o)
	logProblems(t, rep)
	tot := rep.Total()
	// A NUL byte and bare CRs cannot be appended unchanged: reported, not sent.
	refused := map[archive.ID]bool{}
	for _, m := range msgs {
		if m.HasTag("odd:nul-byte") || m.HasTag("odd:cr-only") {
			refused[m.ID()] = true
		}
	}
	if tot.Failed.Messages != int64(len(refused)) || tot.Left.Messages != 0 {
		t.Errorf("failed %d, left %d; want %d and 0", tot.Failed.Messages, tot.Left.Messages, len(refused))
	}
	probs, _ := rep.Problems()
	for _, p := range probs {
		if !p.Fatal || !strings.Contains(p.Error, "cannot be appended unchanged") {
			t.Errorf("unexpected problem %s: %s", p.Where, p.Error)
		}
	}
	got := fetchAll(t, d.IMAPAddr, "carol", d.Password("carol"))
	for src, copies := range exp {
		folder := strings.TrimPrefix(src, "work/")
		on := got[folder]
		byID := map[archive.ID][]onTarget{}
		for _, m := range on {
			byID[m.ID] = append(byID[m.ID], m)
		}
		n := 0
		for _, c := range copies {
			if refused[c.ID] {
				continue
			}
			n++
			ms := byID[c.ID]
			if len(ms) != 1 {
				t.Errorf("%s: message %s (%s) is there %d times, want once", folder, c.ID.Short(), kindOf(msgs, c.ID), len(ms))
				continue
			}
			m := ms[0]
			if !slices.Equal(m.Flags, c.Flags) {
				t.Errorf("%s: %s flags %v, want %v", folder, c.ID.Short(), m.Flags, c.Flags)
			}
			if !m.InternalDate.Equal(c.InternalDate) {
				t.Errorf("%s: %s internal date %v, want %v", folder, c.ID.Short(), m.InternalDate, c.InternalDate)
			}
			if m.Size != c.Size {
				t.Errorf("%s: %s RFC822.SIZE %d, want %d", folder, c.ID.Short(), m.Size, c.Size)
			}
		}
		if len(on) != n {
			t.Errorf("%s: %d messages on the target, want %d", folder, len(on), n)
		}
	}

	// A rerun appends nothing; --verify finds every message.
	o.Verify = true
	rep2 := runExport(t, a, sel, o)
	logProblems(t, rep2)
	t2 := rep2.Total()
	if t2.Done.Messages != 0 || t2.Already.Messages != tot.Done.Messages {
		t.Errorf("rerun: done %d, already %d; want 0 and %d", t2.Done.Messages, t2.Already.Messages, tot.Done.Messages)
	}
	if t2.Verify == nil || t2.Verify.Present != tot.Done.Messages || t2.Verify.Missing+t2.Verify.SizeMismatch != 0 {
		t.Errorf("verify: %+v; want %d present", t2.Verify, tot.Done.Messages)
	}
}

func kindOf(msgs []*testcorpus.Message, id archive.ID) string {
	for _, m := range msgs {
		if archive.ID(m.ID()) == id {
			return strings.Join(m.Tags, ",")
		}
	}
	return "?"
}

// cutter is a TCP proxy that drops connections 2 to cuts+1 (the first is
// Run's control connection) once the server has sent budget bytes on it:
// the answers to APPENDs the server has already done are lost with it.
type cutter struct {
	target string
	budget int64
	mu     sync.Mutex
	n      int
	cuts   int
}

func (c *cutter) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	server, err := (&net.Dialer{}).DialContext(ctx, network, c.target)
	if err != nil {
		return nil, err
	}
	client, proxy := net.Pipe()
	c.mu.Lock()
	c.n++
	cut := c.n > 1 && c.cuts > 0
	if cut {
		c.cuts--
	}
	c.mu.Unlock()
	go func() {
		io.Copy(server, proxy)
		server.Close()
	}()
	go func() {
		var src io.Reader = server
		if cut {
			src = io.LimitReader(server, c.budget)
		}
		io.Copy(proxy, src)
		proxy.Close()
		server.Close()
	}()
	return client, nil
}

// TestDroppedConnections: connections that drop in the middle of
// pipelined APPENDs are reopened; the APPENDs whose answers were lost are
// looked for on the server, and only those not there are sent again: every
// message ends up there once.
func TestDroppedConnections(t *testing.T) {
	d := dovecottest.Start(t, dovecottest.Options{})
	a := archive.TestArchive(t)
	msgs := exportertest.Corpus(t, 400, 13, false)
	exportertest.Fill(t, a, "work", msgs)
	sel := exportertest.SelectAll(t, a)
	exp := exportertest.Expected(t, sel)
	cut := &cutter{target: d.IMAPAddr, budget: 6000, cuts: 4}
	o := Options{Addr: d.IMAPAddr, TLS: "none", User: "carol", Password: d.Password("carol"), Logger: testLogger(t),
		Dial: cut.dial, ReconnectDelay: 200 * time.Millisecond, Window: 16}
	rep := runExport(t, a, sel, o)
	logProblems(t, rep)
	if cut.cuts != 0 {
		t.Fatalf("only %d of 4 connections were cut", 4-cut.cuts)
	}
	if rep.Total().Found.Messages == 0 {
		t.Error("no lost answer was found on the server: the test did not test reconciliation")
	}
	tot := rep.Total()
	t.Logf("appended %d, found after a drop %d", tot.Done.Messages, tot.Found.Messages)
	if tot.Failed.Messages != 0 || tot.Left.Messages != 0 {
		t.Errorf("failed %d left %d", tot.Failed.Messages, tot.Left.Messages)
	}
	got := fetchAll(t, d.IMAPAddr, "carol", d.Password("carol"))
	for src, copies := range exp {
		folder := strings.TrimPrefix(src, "work/")
		n := map[archive.ID]int{}
		for _, m := range got[folder] {
			n[m.ID]++
		}
		for _, c := range copies {
			if n[c.ID] != 1 {
				t.Errorf("%s: %s there %d times", folder, c.ID.Short(), n[c.ID])
			}
		}
		if len(got[folder]) != len(copies) {
			t.Errorf("%s: %d messages, want %d", folder, len(got[folder]), len(copies))
		}
	}
}

// TestConnectModes: implicit TLS works; a wrong password fails at once
// with ErrAuth; an untrusted certificate is refused.
func TestConnectModes(t *testing.T) {
	d := dovecottest.Start(t, dovecottest.Options{})
	a := archive.TestArchive(t)
	exportertest.Fill(t, a, "work", exportertest.Corpus(t, 5, 2, false))
	sel := exportertest.SelectAll(t, a)
	o := dovecotOptions(t, d)
	o.Addr, o.TLS = d.IMAPSAddr, "tls"
	rep := &exporters.Report{}
	if err := DryRun(context.Background(), a, sel, o, rep); err != nil || rep.Total().Done.Messages != 5 {
		t.Errorf("dry run over implicit TLS: %v, %+v", err, rep.Total())
	}
	o.Password = "wrong"
	start := time.Now()
	if err := Run(context.Background(), a, sel, o, &exporters.Report{}); !errors.Is(err, ErrAuth) || time.Since(start) > 5*time.Second {
		t.Errorf("wrong password: %v after %v, want ErrAuth at once", err, time.Since(start))
	}
	o = dovecotOptions(t, d)
	o.TLSConfig = &tls.Config{ServerName: "127.0.0.1"} // system roots only
	if err := DryRun(context.Background(), a, sel, o, &exporters.Report{}); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
}
