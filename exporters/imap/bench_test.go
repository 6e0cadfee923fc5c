package imap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/exporters/exportertest"
	"github.com/mailark/mailark/internal/dovecottest"
)

// BenchmarkExportIMAP measures APPEND export into a private Dovecot in one
// run: a sequential loop of one APPEND at a time (imapsync's way: send,
// wait for OK, send the next) against Run with several connection and
// window settings, and the real binary with its defaults under GNU time
// (for the process's peak RSS), each into its own empty account:
//
//	MAILARK_BENCH_MESSAGES=10000 go test ./exporters/imap -run '^$' -bench ExportIMAP -benchtime 1x
//
// bench/export_imap.sh wraps this. Each setting reports msg/s and MB/s
// (CRLF bytes); the binary also peak-RSS-MB.
func BenchmarkExportIMAP(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("MAILARK_BENCH_MESSAGES")); err == nil && v > 0 {
		n = v
	}
	settings := []struct {
		name        string
		conns, wind int
	}{
		{"sequential", 0, 0},
		{"sequential-unselected", 0, -2},
		{"conns=1,window=1", 1, 1},
		{"conns=1,window=8", 1, 8},
		{"conns=2,window=8", 2, 8},
		{"conns=4,window=8", 4, 8},
		{"binary", -1, -1},
	}
	var users []dovecottest.User
	for i := range settings {
		for r := 0; r < 4; r++ {
			users = append(users, dovecottest.User{Name: fmt.Sprintf("u%d_%d", i, r), Password: "secret"})
		}
	}
	d := dovecottest.Start(b, dovecottest.Options{Users: users})
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "archive")
	if err := archive.Init(ctx, dir); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	a, err := archive.Open(ctx, dir, archive.Options{})
	if err != nil {
		b.Fatal(err)
	}
	exportertest.Fill(b, a, "work", exportertest.Corpus(b, n, 1, false))
	a.Close()
	bin := filepath.Join(b.TempDir(), "mailark")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mailark/mailark/cmd/mailark").CombinedOutput(); err != nil {
		b.Fatalf("building mailark: %v\n%s", err, out)
	}
	pw := filepath.Join(b.TempDir(), "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	b.Logf("archive of %d stored messages built in %v", n, time.Since(t0).Round(time.Millisecond))
	round := map[string]int{}
	for i, s := range settings {
		b.Run(s.name, func(b *testing.B) {
			user := fmt.Sprintf("u%d_%d", i, round[s.name]%4)
			round[s.name]++
			a, err := archive.Open(ctx, dir, archive.Options{})
			if err != nil {
				b.Fatal(err)
			}
			sel := exportertest.SelectAll(b, a)
			msgs, _, crlf := sel.Totals()
			o := Options{Addr: d.IMAPAddr, TLS: "starttls", TLSConfig: d.TLSConfig(), User: user, Password: "secret", Connections: s.conns, Window: s.wind}
			runtime.GC()
			start := time.Now()
			rss, cpu := 0.0, 0.0
			switch {
			case s.conns == 0:
				err = sequential(ctx, sel, o, s.wind == 0)
				a.Close()
			case s.conns < 0:
				a.Close()
				host, port, _ := strings.Cut(d.IMAPAddr, ":")
				cmd := exec.Command("/usr/bin/time", "-v", bin, "--archive", dir, "-q", "export", "imap", "--host", host, "--port", port,
					"--tls-ca", d.CAFile, "--user", user, "--password-file", pw)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				start = time.Now()
				if err = cmd.Run(); err != nil {
					err = fmt.Errorf("%v\n%s", err, out.String())
				}
				if m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(out.String()); m != nil {
					kb, _ := strconv.Atoi(m[1])
					rss = float64(kb) / 1024
				}
				for _, re := range []string{`User time \(seconds\): ([0-9.]+)`, `System time \(seconds\): ([0-9.]+)`} {
					if m := regexp.MustCompile(re).FindStringSubmatch(out.String()); m != nil {
						v, _ := strconv.ParseFloat(m[1], 64)
						cpu += v
					}
				}
			default:
				rep := &exporters.Report{}
				err = Run(ctx, a, sel, o, rep)
				if f := rep.Failures(); err == nil && f > 0 {
					err = fmt.Errorf("%d failures", f)
				}
				a.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(msgs)/secs, "msg/s")
			b.ReportMetric(float64(crlf)/1e6/secs, "MB/s")
			if rss > 0 {
				b.ReportMetric(rss, "peak-RSS-MB")
				b.ReportMetric(cpu, "cpu-s")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// sequential is the baseline: one connection, one APPEND at a time, each
// waiting for its OK before the next is sent, into the folder SELECTed
// first when selectFirst (as imapsync does: it selects each target folder
// to list what is there). It reads and checks each message like Run does.
func sequential(ctx context.Context, sel *archive.Selection, o Options, selectFirst bool) error {
	if err := o.defaults(); err != nil {
		return err
	}
	s, err := dial(ctx, &o)
	if err != nil {
		return err
	}
	defer s.logout()
	created := map[string]bool{"INBOX": true}
	selected := ""
	return sel.Each(ctx, func(e *archive.SelectedEntry) error {
		if !created[e.Folder] {
			s.c.Create(e.Folder, nil).Wait()
			created[e.Folder] = true
		}
		if selectFirst && selected != e.Folder {
			if _, err := s.c.Select(e.Folder, nil).Wait(); err != nil {
				return err
			}
			selected = e.Folder
		}
		body, err := exporters.Load(e)
		if err != nil {
			return err
		}
		defer body.Release()
		r, err := body.Open()
		if err != nil {
			return err
		}
		defer r.Close()
		flags := make([]imap.Flag, len(e.Flags))
		for i, f := range e.Flags {
			flags[i] = imap.Flag(f)
		}
		cmd := s.c.Append(e.Folder, body.Size, &imap.AppendOptions{Flags: flags, Time: e.InternalDate})
		if _, err := io.Copy(cmd, r); err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err = cmd.Wait()
		return err
	})
}
