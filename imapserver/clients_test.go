package imapserver

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/mutf7"
)

// Real clients: mbsync (Debian isync), curl and Python's imaplib. A
// missing client skips its test, except under CI, which must have them
// (apt-get install isync curl python3).

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; CI needs it (Debian packages isync, curl, python3, offlineimap3)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

func hostPort(t *testing.T, addr string) (string, string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// TestMbsync pulls every folder with mbsync into a new Maildir and checks
// each file against the archive: the same message (mbsync stores LF line
// ends, so the check is the archive's identity, SHA-256 of the CRLF
// form), in the same folder, nothing missing, nothing extra.
func TestMbsync(t *testing.T) {
	mbsync := requireTool(t, "mbsync")
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	host, port := hostPort(t, addr)
	dir := t.TempDir()
	local := filepath.Join(dir, "mail") + "/"
	conf := fmt.Sprintf(`IMAPAccount mailark
Host %s
Port %s
User alice
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account mailark

MaildirStore local
Path %s
Inbox %sINBOX
SubFolders Verbatim

Channel pull
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
Expunge None
SyncState *
`, host, port, password, local, local)
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	cf := filepath.Join(dir, "mbsyncrc")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	for run := range 2 { // the second run finds nothing new
		cmd := exec.Command(mbsync, "-c", cf, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync run %d: %v\n%s", run+1, err, out)
		}
		t.Logf("mbsync run %d: %s", run+1, bytes.TrimSpace(out))
	}
	got := map[string][]string{} // folder → IDs
	tuid := 0
	err := filepath.Walk(local, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.Contains(p, "/cur/") && !strings.Contains(p, "/new/") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if i := bytes.Index(b, []byte("\nX-TUID: ")); i >= 0 && i < bytes.Index(b, []byte("\n\n")) {
			// mbsync marks messages it propagates with X-TUID (a header
			// it adds to the copy it writes); take it out again.
			j := bytes.IndexByte(b[i+1:], '\n')
			b = append(b[:i+1:i+1], b[i+1+j+1:]...)
			tuid++
		}
		rel, _ := filepath.Rel(local, p)
		folder := filepath.Dir(filepath.Dir(rel))
		if dec, err := mutf7.Decode(folder); err == nil {
			folder = dec
		}
		got[folder] = append(got[folder], archive.Sum(b).String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files had X-TUID", tuid)
	want := map[string][]string{}
	for key, msgs := range f.msgs {
		folder, ok := strings.CutPrefix(key, "work/")
		if !ok {
			continue
		}
		for _, raw := range msgs {
			want[folder] = append(want[folder], archive.Sum(raw).String())
		}
	}
	for _, m := range []map[string][]string{got, want} {
		for _, ids := range m {
			sort.Strings(ids)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		for k := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(want[k]) {
				t.Errorf("folder %s: got %d messages, want %d", k, len(got[k]), len(want[k]))
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("extra folder %s", k)
			}
		}
	}
}

// TestCurl lists and fetches with curl over imap://, STARTTLS and imaps://.
func TestCurl(t *testing.T) {
	curl := requireTool(t, "curl")
	f := sharedFixture(t)
	cert, _ := testCert(t)
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(f)
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv, addr := startServer(t, cfg)
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(tlsLn)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--max-time", "20", "--user", "alice:" + password}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	list := run("imap://" + addr + "/")
	for _, want := range []string{`* LIST (\HasNoChildren) "/" INBOX`, `"Tests"`, `"Archive/2019"`} {
		if !strings.Contains(list, want) {
			t.Errorf("curl list: no %s in\n%s", want, list)
		}
	}
	if got := run("imap://" + addr + "/Tests;UID=1"); got != crlf(msgPlainLF) {
		t.Errorf("curl fetch: %q", got)
	}
	if got := run("imap://"+addr+"/Tests", "-X", "UID SEARCH TEXT quokka"); !strings.Contains(got, "* SEARCH 2") {
		t.Errorf("curl search: %q", got)
	}
	// STARTTLS, required (--ssl-reqd), and implicit TLS.
	if got := run("--ssl-reqd", "--cacert", certFile, "imap://"+addr+"/Tests;UID=2;SECTION=1"); got != "hello quokka" {
		t.Errorf("curl starttls: %q", got)
	}
	if got := run("--cacert", certFile, "imaps://"+tlsLn.Addr().String()+"/Tests;UID=2"); got != msgMulti {
		t.Errorf("curl imaps: %q", got)
	}
}

// TestPythonImaplib runs testdata/imaplib_check.py with Debian's Python.
func TestPythonImaplib(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = requireTool(t, "python3")
	}
	f := sharedFixture(t)
	_, addr := startServer(t, testConfig(f))
	host, port := hostPort(t, addr)
	cmd := exec.Command(py, "testdata/imaplib_check.py", host, port, "alice", password)
	done := make(chan struct{})
	time.AfterFunc(60*time.Second, func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
		}
	})
	out, err := cmd.CombinedOutput()
	close(done)
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("imaplib: %v", err)
	}
}
