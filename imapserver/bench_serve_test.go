package imapserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/dovecottest"
	"github.com/mailark/mailark/internal/testcorpus"
	"github.com/mailark/mailark/search"
)

// TestMeasureServe is a measurement, not a test: run by hand with
// MAILARK_BENCH_SERVE=1 (MAILARK_BENCH_N messages, default 10000). It
// pulls the same messages with mbsync over IMAPS from 'mailark serve' and
// from Dovecot, times SEARCH TEXT, and reads the server's RSS with 50
// clients connected. Numbers go to the test log.
func TestMeasureServe(t *testing.T) {
	if os.Getenv("MAILARK_BENCH_SERVE") == "" {
		t.Skip("a measurement: set MAILARK_BENCH_SERVE=1")
	}
	mbsync := requireTool(t, "mbsync")
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("MAILARK_BENCH_N")); err == nil {
		n = v
	}
	ctx := context.Background()
	dir := t.TempDir()
	adir := filepath.Join(dir, "archive")
	if err := archive.Init(ctx, adir); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, adir, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dc := dovecottest.Start(t, dovecottest.Options{})
	w, err := a.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pending := map[string][]dovecottest.Message{}
	var bytesTotal int64
	t0 := time.Now()
	err = testcorpus.Generate(testcorpus.Options{Seed: 11, Count: n}, func(m *testcorpus.Message) error {
		bytesTotal += int64(len(m.Raw))
		if _, err := w.Deliver(ctx, bytes.NewReader(m.Raw), archive.Meta{Account: "work", Folder: m.Folder, Flags: m.Flags, InternalDate: m.InternalDate}); err != nil {
			return err
		}
		pending[m.Folder] = append(pending[m.Folder], dovecottest.Message{Raw: m.Raw, Flags: m.Flags, InternalDate: m.InternalDate})
		if len(pending[m.Folder]) == 500 {
			dc.FillBulk(t, "alice", m.Folder, pending[m.Folder])
			pending[m.Folder] = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for folder, msgs := range pending {
		dc.FillBulk(t, "alice", folder, msgs)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ix, err := search.Open(search.Dir(adir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := search.Sync(ctx, a, ix, nil, nil); err != nil {
		t.Fatal(err)
	}
	st, err := a.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries := int(st.Messages)
	ix.Close()
	a.Close()
	t.Logf("%d messages, %d MB, archived, indexed and given to Dovecot in %v", n, bytesTotal>>20, time.Since(t0).Round(time.Second))

	// The real binary, as users run it.
	bin := filepath.Join(dir, "mailark")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/mailark").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(password+"\n"), 0o600)
	if out, err := exec.Command(bin, "--archive", adir, "users", "add", "alice", "--password-file", pw).CombinedOutput(); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	cert, _ := testCert(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, keyFile, cert)
	srv := exec.Command(bin, "--archive", adir, "serve", "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile, "--max-per-ip", "100")
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	m := regexp.MustCompile(`imap://(\S+) imaps://(\S+)\]`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("serve: %q", line)
	}
	plainAddr, tlsAddr := m[1], m[2]

	pull := func(name, addr, user, pass, ca string) time.Duration {
		_, p := hostPort(t, addr)
		h := "127.0.0.1"
		tlsConf := "SSLType None"
		if ca != "" {
			h, tlsConf = "localhost", "SSLType IMAPS\nCertificateFile "+ca
		}
		// mbsync's side on tmpfs: its file creation dominates otherwise.
		tmp := t.TempDir()
		if d, err := os.MkdirTemp("/dev/shm", "mbsync-"); err == nil {
			tmp = d
			defer os.RemoveAll(d)
		}
		local := filepath.Join(tmp, "mail") + "/"
		os.MkdirAll(local, 0o700)
		conf := fmt.Sprintf("FSync no\n\nIMAPAccount a\nHost %s\nPort %s\nUser %s\nPass \"%s\"\n%s\n\n"+
			"IMAPStore remote\nAccount a\n\nMaildirStore local\nPath %s\nInbox %sINBOX\nSubFolders Verbatim\n\n"+
			"Channel pull\nFar :remote:\nNear :local:\nPatterns *\nCreate Near\nSync Pull\nExpunge None\nSyncState *\n",
			h, p, user, pass, tlsConf, local, local)
		cf := filepath.Join(t.TempDir(), "rc")
		os.WriteFile(cf, []byte(conf), 0o600)
		start := time.Now()
		out, err := exec.Command(mbsync, "-q", "-c", cf, "-a").CombinedOutput()
		d := time.Since(start)
		if err != nil {
			t.Fatalf("mbsync from %s: %v\n%s", name, err, out)
		}
		files := 0
		filepath.Walk(local, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && (strings.Contains(p, "/cur/") || strings.Contains(p, "/new/")) {
				files++
			}
			return nil
		})
		if files != n && files != entries {
			t.Errorf("mbsync from %s: %d files, want %d (or %d, the archive's entries: identical bytes in one folder are stored once)", name, files, n, entries)
		}
		t.Logf("mbsync pull from %-8s %d messages in %v: %.0f msg/s", name, files, d.Round(time.Millisecond), float64(files)/d.Seconds())
		return d
	}
	for _, mode := range []string{"plain", "tls"} {
		best := map[string]time.Duration{}
		for round := range 5 {
			for _, s := range []string{"mailark", "dovecot"} {
				var d time.Duration
				switch {
				case s == "mailark" && mode == "tls":
					d = pull("mailark", tlsAddr, "alice", password, certFile)
				case s == "mailark":
					d = pull("mailark", plainAddr, "alice", password, "")
				case mode == "tls":
					d = pull("dovecot", dc.IMAPSAddr, "alice", dc.Password("alice"), dc.CAFile)
				default:
					d = pull("dovecot", dc.IMAPAddr, "alice", dc.Password("alice"), "")
				}
				if round == 0 || d < best[s] {
					best[s] = d
				}
			}
		}
		t.Logf("%s, best of 5: mailark %.0f msg/s, dovecot %.0f msg/s: mailark at %.2f× Dovecot's rate", mode,
			float64(entries)/best["mailark"].Seconds(), float64(n)/best["dovecot"].Seconds(),
			(float64(entries)/best["mailark"].Seconds())/(float64(n)/best["dovecot"].Seconds()))
	}

	// SEARCH TEXT on the largest folder.
	c := dial(t, plainAddr)
	c.login("alice")
	c.transactf("OK", "EXAMINE INBOX")
	for _, q := range []string{"TEXT migration", "TEXT \"the migration is complete\"", "BODY invoice", "TEXT zzzznothing", "SUBJECT report", "UNSEEN", "FROM example"} {
		start := time.Now()
		u := c.transactf("OK", "SEARCH %s", q)
		t.Logf("SEARCH %-32s %4d hits in %v", q, len(strings.Fields(strings.Join(u, " ")))-2, time.Since(start).Round(100*time.Microsecond))
	}

	// RSS with 50 clients connected, each having listed, selected and
	// fetched headers.
	var clients []*client
	for range 50 {
		cl := dial(t, plainAddr)
		cl.login("alice")
		cl.transactf("OK", `LIST "" *`)
		cl.transactf("OK", "EXAMINE INBOX")
		cl.transactf("OK", "FETCH 1:200 (FLAGS ENVELOPE BODYSTRUCTURE)")
		clients = append(clients, cl)
	}
	t.Logf("RSS of mailark serve with %d clients: %s", len(clients), rss(t, srv.Process.Pid))
}

func rss(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			defer t.Logf("%s", l)
		}
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindStringSubmatch(string(b))
	return m[1] + " kB"
}

func writePEM(t *testing.T, certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	kb, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
}
