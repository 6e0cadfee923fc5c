package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailark/mailark"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	imapimp "github.com/mailark/mailark/importers/imap"
	mboximp "github.com/mailark/mailark/importers/mbox"
	pop3imp "github.com/mailark/mailark/importers/pop3"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/tlsopt"
	"github.com/mailark/mailark/mbox"
	"github.com/mailark/mailark/search"
	"github.com/mailark/mailark/search/query"
	"github.com/spf13/cobra"
)

func newDemoCommand(g *globalOptions) *cobra.Command {
	var keep string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the archive pipeline on the bundled sample mail",
		Long: `Run what mailark does on the bundled sample mail (60 messages in 11
folders: threads, attachments, HTML, Chinese, Japanese, Korean and Russian
mail, duplicates across folders, near-duplicates, malformed messages), in a
fresh archive, with nothing to set up and no network. In-process servers on
127.0.0.1 stand in for real accounts:

  1. import imap from an in-process IMAP server holding the sample's folders
  2. import pop3 from an in-process POP3 server holding its INBOX
     (already archived over IMAP: only hard links are added)
  3. import the INBOX again as an mbox file into a third account
  4. import imap again (incremental: nothing is fetched)
  5. search the full-text index (English, Chinese, Japanese queries)
  6. export what a search finds over IMAP APPEND into a second in-process
     IMAP server and over SMTP into an in-process sink; both are checked
  7. serve the archive read-only over IMAP; a client lists, fetches one
     message and sees a write refused
  8. verify every file against its SHA-256 and the catalog
  9. print the archive's statistics

Each step's result is checked against the sample's manifest; the exit status
is 0 only if every check passed. The archive is made in a temporary
directory and removed, unless --keep names a directory to keep it in.`,
		Example: "  mailark demo\n  mailark demo --keep /tmp/mailark-demo && ls /tmp/mailark-demo/archive/maildir",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), g, keep)
		},
	}
	c.Flags().StringVar(&keep, "keep", "", "build the demo in this directory and keep it")
	return withExitStatus(c)
}

type demoCheck struct {
	step string
	ok   bool
	got  string
}

func runDemo(ctx context.Context, g *globalOptions, keep string) error {
	dir := keep
	if dir == "" {
		d, err := os.MkdirTemp("", "mailark-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if empty, err := dirEmptyOrMissing(dir); err != nil || !empty {
		return &usageError{fmt.Errorf("--keep %s: want a new or empty directory", dir)}
	}
	dg := *g
	dg.archiveDir = filepath.Join(dir, "archive")
	start := time.Now()
	var checks []demoCheck
	check := func(step string, ok bool, format string, args ...any) {
		checks = append(checks, demoCheck{step, ok, fmt.Sprintf(format, args...)})
	}
	say := func(format string, args ...any) {
		if !g.json {
			fmt.Fprintf(g.stdout, format+"\n", args...)
		}
	}

	want, err := sampleExpectations()
	if err != nil {
		return err
	}
	say("mailark demo: working in %s", dir)
	src, err := mailark.ExtractSample(filepath.Join(dir, "sample"))
	if err != nil {
		return err
	}

	msgs, err := sampleMessages(src)
	if err != nil {
		return err
	}
	var inbox []demoMsg
	inboxIDs := map[archive.ID]bool{}
	for _, m := range msgs {
		if m.folder == archive.Inbox {
			inbox = append(inbox, m)
			inboxIDs[archive.Sum(m.raw)] = true
		}
	}
	imapAddr, stopIMAP, err := startDemoIMAP(msgs)
	if err != nil {
		return err
	}
	defer stopIMAP()
	pop := startDemoPOP3(inbox)
	defer pop.Close()
	say("in-process servers on loopback: IMAP %s (the sample's %d folders), POP3 %s (its INBOX)", imapAddr, countSampleFolders(msgs), pop.Addr)

	imapOpts := imapimp.Options{Addr: imapAddr, TLS: tlsopt.None, User: demoUser, Password: demoPassword, Account: "imap", Logger: g.log}
	say("\n1. import imap (the sample: %d messages, %d distinct)", want.entries, want.unique)
	rep, err := demoFrame(ctx, &dg, "import imap", func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error {
		_, err := imapimp.Run(ctx, w, imapOpts, rep, prog)
		return err
	})
	if err != nil {
		return err
	}
	check("import imap", rep.New == int64(want.unique) && rep.New+rep.Linked == int64(want.entries) && rep.Failed == 0,
		"%d new, %d linked, %d failed (want %d new, %d linked)", rep.New, rep.Linked, rep.Failed, want.unique, want.entries-want.unique)

	say("\n2. import pop3 (the same INBOX, %d distinct messages, into another account)", len(inboxIDs))
	rep, err = demoFrame(ctx, &dg, "import pop3", func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error {
		cfg := pop3imp.Config{Addr: pop.Addr, User: demoUser, Password: demoPassword, Dial: pop3imp.Options{Security: pop3imp.Plain},
			Account: "pop3", Progress: prog, Logger: g.log}
		var err error
		if cfg.Known, err = a.SourceRefs(ctx, pop3imp.SourceName("127.0.0.1", demoUser)); err != nil {
			return err
		}
		_, err = pop3imp.Import(ctx, cfg, w, rep)
		return err
	})
	if err != nil {
		return err
	}
	check("import pop3", rep.New == 0 && rep.Linked == int64(len(inboxIDs)) && rep.Failed == 0,
		"%d new, %d linked (want 0 new: the same bytes came over IMAP already)", rep.New, rep.Linked)

	mboxPath := filepath.Join(dir, "inbox.mbox")
	n, err := writeSampleMbox(src, mboxPath)
	if err != nil {
		return err
	}
	say("\n3. import mbox %s (the INBOX again, as a file)", mboxPath)
	rep, err = demoImport(ctx, &dg, "import mbox", "mbox", func(add func(importers.Source, int64, int64) error) error {
		s, err := mboximp.Open(mboxPath, "", mboximp.Options{})
		if err != nil {
			return err
		}
		defer s.Close()
		return add(s, 0, s.Total())
	})
	if err != nil {
		return err
	}
	check("import mbox", rep.New == 0 && rep.Linked == int64(n) && rep.Failed == 0,
		"%d new, %d linked (want 0 new: archived already, line endings aside)", rep.New, rep.Linked)

	say("\n4. import imap again (incremental: one EXAMINE per folder, nothing fetched)")
	rep, err = demoFrame(ctx, &dg, "import imap", func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error {
		_, err := imapimp.Run(ctx, w, imapOpts, rep, prog)
		return err
	})
	if err != nil {
		return err
	}
	check("reimport", rep.New == 0 && rep.Linked == 0 && rep.Failed == 0,
		"%d new, %d linked, %d already archived", rep.New, rep.Linked, rep.Existing)

	say("\n5. search (expected hits come from the sample's manifest)")
	if err := demoSearch(ctx, &dg, check, say); err != nil {
		return err
	}

	say("\n6. export what 'quokka' finds: IMAP APPEND into a second in-process server, SMTP into an in-process sink")
	if err := demoExport(ctx, &dg, "quokka", check, say); err != nil {
		return err
	}

	say("\n7. serve the archive read-only over IMAP, and read it with a client")
	if err := demoServe(ctx, &dg, dir, check, say); err != nil {
		return err
	}

	say("\n8. verify")
	a, err := archive.Open(ctx, dg.archiveDir, archive.Options{Logger: g.log})
	if err != nil {
		return err
	}
	vr, err := a.Verify(ctx, nil)
	if err != nil {
		a.Close()
		return err
	}
	say("verify: %d files, %d re-hashed, %d problems", vr.Files, vr.Hashed, len(vr.Problems))
	check("verify", vr.OK(), "%d problems", len(vr.Problems))

	say("\n9. stats")
	st, err := a.Stats(ctx)
	a.Close()
	if err != nil {
		return err
	}
	wantMsgs := int64(want.entries + len(inboxIDs) + n)
	check("stats", st.Messages == wantMsgs && st.Unique == int64(want.unique),
		"%d messages, %d unique (want %d, %d)", st.Messages, st.Unique, wantMsgs, want.unique)
	say("%d messages in %d folders of 3 accounts, %d unique: %s received, %s stored, dedup saved %s; %d near-duplicates kept",
		st.Messages, countFolders(st), st.Unique, humanBytes(st.BytesReceived), humanBytes(st.BytesStored), humanBytes(st.Saved()), st.NearDups)

	failed := 0
	for _, c := range checks {
		if !c.ok {
			failed++
		}
	}
	if g.json {
		type jc struct {
			Step   string `json:"step"`
			OK     bool   `json:"ok"`
			Result string `json:"result"`
		}
		out := struct {
			Dir     string  `json:"dir,omitempty"`
			Seconds float64 `json:"seconds"`
			Checks  []jc    `json:"checks"`
			Stats   any     `json:"stats"`
		}{Seconds: time.Since(start).Seconds(), Stats: st}
		if keep != "" {
			out.Dir = keep
		}
		for _, c := range checks {
			out.Checks = append(out.Checks, jc{c.step, c.ok, c.got})
		}
		printJSON(g.stdout, out)
	} else {
		fmt.Fprintf(g.stdout, "\nchecks:\n")
		for _, c := range checks {
			mark := "ok  "
			if !c.ok {
				mark = "FAIL"
			}
			fmt.Fprintf(g.stdout, "  %s %-15s %s\n", mark, c.step, c.got)
		}
		fmt.Fprintf(g.stdout, "\ndemo finished in %.1fs", time.Since(start).Seconds())
		if keep != "" {
			fmt.Fprintf(g.stdout, "; the archive is in %s", dg.archiveDir)
		}
		fmt.Fprintf(g.stdout, `

With your own mail:
  mailark --archive ~/mail-archive import imap --host imap.example.org --tls tls --user me@example.org --password-cmd 'pass show mail'
  mailark --archive ~/mail-archive import pop3 --host pop.example.org --user me --password-env POP_PASSWORD
  mailark --archive ~/mail-archive import maildir ~/Maildir --account home
  mailark --archive ~/mail-archive import mbox ~/Takeout/Mail/*.mbox --account gmail
  mailark --archive ~/mail-archive import eml ~/Downloads/*.eml
  mailark --archive ~/mail-archive search from:alice invoice after:2020
  mailark --archive ~/mail-archive users add me && mailark --archive ~/mail-archive serve
  mailark --archive ~/mail-archive verify
  mailark --archive ~/mail-archive stats --html report.html
`)
	}
	if failed > 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("demo: %d of %d checks failed", failed, len(checks))}
	}
	return nil
}

func countFolders(st *archive.Stats) int {
	n := 0
	for _, a := range st.Accounts {
		n += len(a.Folders)
	}
	return n
}

// demoFrame runs one import in the shared frame and returns its counts.
func demoFrame(ctx context.Context, g *globalOptions, command string,
	body func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error) (archive.RunCounts, error) {
	var counts archive.RunCounts
	err := runImportFrame(ctx, g, command, "demo", body, func(run *archive.Run, importTime, indexTime time.Duration, err error) {
		printImportReport(g, command, run, importTime, indexTime, err)
		counts = run.Counts
	})
	if err == errPartial {
		err = nil
	}
	return counts, err
}

func countSampleFolders(msgs []demoMsg) int {
	f := map[string]bool{}
	for _, m := range msgs {
		f[m.folder] = true
	}
	return len(f)
}

// demoImport runs one import like the import commands do, and returns
// its counts.
func demoImport(ctx context.Context, g *globalOptions, command, account string, body func(add func(importers.Source, int64, int64) error) error) (archive.RunCounts, error) {
	var counts archive.RunCounts
	err := runImportWith(ctx, g, command, nil, importOptions{account: account}, func(ctx context.Context, w *archive.Writer, add func(importers.Source, int64, int64) error) error {
		return body(add)
	}, func(r *archive.Run) { counts = r.Counts })
	if err == errPartial {
		err = nil
	}
	return counts, err
}

type sampleWant struct{ entries, unique int }

// sampleExpectations reads the sample's manifest: what a correct import
// must produce, independently of the code under demonstration.
func sampleExpectations() (sampleWant, error) {
	var w sampleWant
	entries, ids := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(mailark.SampleManifest))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ Folder, ID string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return w, fmt.Errorf("reading the sample manifest: %w", err)
		}
		entries[e.Folder+"\x00"+e.ID] = true
		ids[e.ID] = true
	}
	return sampleWant{len(entries), len(ids)}, sc.Err()
}

// writeSampleMbox writes the sample's INBOX (cur/ and new/) as an mboxrd
// file and returns how many distinct messages it holds.
func writeSampleMbox(maildir, path string) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := mbox.NewWriter(f)
	seen := map[archive.ID]bool{}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(maildir, sub))
		if err != nil && !os.IsNotExist(err) {
			return 0, err
		}
		for _, e := range ents {
			p := filepath.Join(maildir, sub, e.Name())
			raw, err := os.ReadFile(p)
			if err != nil {
				return 0, err
			}
			st, err := os.Stat(p)
			if err != nil {
				return 0, err
			}
			id := archive.Sum(raw)
			if seen[id] || !strings.HasSuffix(string(raw), "\n") {
				// a message without a final newline gains one in an mbox:
				// it would be another message; leave it out of the demo
				continue
			}
			seen[id] = true
			if _, err := w.WriteMessage("demo@example.org", st.ModTime(), bytes.NewReader(raw)); err != nil {
				return 0, err
			}
		}
	}
	return len(seen), f.Close()
}

// demoSearch runs a few queries against the index the imports built and
// checks each against the manifest's tags.
func demoSearch(ctx context.Context, g *globalOptions, check func(string, bool, string, ...any), say func(string, ...any)) error {
	a, err := archive.Open(ctx, g.archiveDir, archive.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer a.Close()
	ix, err := search.OpenReadOnly(search.Dir(a.Dir()))
	if err != nil {
		return err
	}
	defer ix.Close()
	for _, x := range []struct{ q, tag string }{
		{"quokka", "needle:quokka"},
		{`"数据迁移已经完成"`, "lang:zh-hans"},
		{"データ移行が完了しました", "lang:ja"},
	} {
		q, err := query.ParseAndCompile(x.q, query.Options{})
		if err != nil {
			return err
		}
		start := time.Now()
		hits, _, err := ix.Search(ctx, q, 100, search.SortDateDesc)
		if err != nil {
			return err
		}
		took := time.Since(start)
		want := sampleTagged(x.tag)
		got := map[string]bool{}
		say("mailark search %s   (%d hits in %s)", x.q, len(hits), took.Round(time.Microsecond))
		for _, h := range hits {
			got[h.ID.String()] = true
			if m, err := a.Message(ctx, h.ID); err == nil {
				say("  %s  %-28s %s", h.ID.Short(), clip(m.From, 28), clip(m.Subject, 50))
			}
		}
		ok := len(got) == len(want)
		for id := range want {
			ok = ok && got[id]
		}
		check("search "+x.q, ok && len(want) > 0, "%d hits, want the %d messages tagged %s", len(got), len(want), x.tag)
	}
	return nil
}

// sampleTagged returns the IDs of sample messages carrying tag.
func sampleTagged(tag string) map[string]bool {
	ids, _ := mailark.SampleTagged(tag) // the embedded manifest is checked by its tests
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}
