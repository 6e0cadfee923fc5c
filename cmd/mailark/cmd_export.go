package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/search"
	"github.com/mailark/mailark/search/query"
	"github.com/spf13/cobra"
)

func init() { register("export", newExportCommand) }

func newExportCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "export",
		Short: "Export mail from the archive: IMAP, SMTP, mbox, .eml",
		Long: `Export archived messages to an IMAP server (APPEND), through an SMTP server,
or to files (one mbox, or a tree of .eml files), unchanged.

Every exporter takes the same selection: --account, --folder and --query
narrow it down; without them everything is exported. Exports only read the
messages, but they take the archive's lock (exit status 4 while another
mailark process holds it): IMAP and SMTP exports record a receipt for each
message the server confirmed, which makes a rerun, or a run resumed after an
interruption, send nothing twice.` + "\n" + exitStatusHelp,
		Example: `  mailark export imap --target newprovider --account old
  mailark export mbox --query 'from:bob after:2020' bob.mbox`,
	}
	c.AddCommand(newExportIMAPCommand(g), newExportSMTPCommand(g), newExportMboxCommand(g), newExportEMLCommand(g))
	return c
}

// selectFlags are the selection every exporter takes.
type selectFlags struct {
	accounts []string
	folders  []string
	query    string
}

const selectionHelp = `
SELECTION
  --account A   only this account (repeatable)
  --folder F    only folders matching this pattern (repeatable): mailark's
                folder names ('/' between levels), path.Match syntax where
                * and ? also match across '/' ('Archive/*' is everything
                below Archive); INBOX in any case
  --query Q     only messages the search language finds (see 'mailark search
                --help'), in every selected folder they are in
Without any of them, every message of every folder of every account. The
selection is read folder by folder (accounts by name, INBOX first, then
folders by name) and by UID within a folder.`

func (s *selectFlags) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVar(&s.accounts, "account", nil, "export only this account (repeatable)")
	f.StringArrayVar(&s.folders, "folder", nil, "export only folders matching this pattern (repeatable)")
	f.StringVar(&s.query, "query", "", "export only the messages this search finds")
}

func (s *selectFlags) validate() error {
	for _, p := range s.folders {
		if _, err := archive.MatchFolder(p, archive.Inbox); err != nil {
			return &usageError{err}
		}
	}
	if s.query != "" {
		if _, err := query.ParseAndCompile(s.query, query.Options{}); err != nil {
			return &usageError{fmt.Errorf("--query: %w", err)}
		}
	}
	return nil
}

// String describes the selection for the audit log.
func (s *selectFlags) String() string {
	var parts []string
	for _, a := range s.accounts {
		parts = append(parts, "--account "+a)
	}
	for _, f := range s.folders {
		parts = append(parts, "--folder "+f)
	}
	if s.query != "" {
		parts = append(parts, fmt.Sprintf("--query %q", s.query))
	}
	return strings.Join(parts, " ")
}

// resolve turns the flags into a selection. A --query brings the index up
// to date first when the archive is open for writing (the export holds the
// lock, so no one else can), and warns when it cannot.
func (s *selectFlags) resolve(ctx context.Context, g *globalOptions, a *archive.Archive) (*archive.Selection, error) {
	opts := archive.SelectOptions{Accounts: s.accounts, Folders: s.folders}
	if s.query != "" {
		q, err := query.ParseAndCompile(s.query, query.Options{})
		if err != nil {
			return nil, &usageError{fmt.Errorf("--query: %w", err)}
		}
		var ix *search.Index
		if a.ReadOnly() {
			if ix, err = openIndexReadOnly(a.Dir()); err != nil {
				return nil, err
			}
			if n, err := a.UnindexedCount(ctx); err == nil && n > 0 {
				g.log.Warn("messages not indexed yet are not selected by --query", "messages", n)
			}
		} else {
			if ix, err = openIndex(g, search.Dir(a.Dir())); err != nil {
				return nil, err
			}
			if _, err := search.Sync(ctx, a, ix, progress.Nop{}, func(id archive.ID, err error) {
				g.log.Warn("message not indexed", "id", id.Short(), "err", err)
			}); err != nil {
				ix.Close()
				return nil, fmt.Errorf("bringing the search index up to date: %w", err)
			}
		}
		defer ix.Close()
		set, err := ix.IDs(ctx, q) // a set: no scores, no sort
		if err != nil {
			return nil, &usageError{err}
		}
		opts.Only = make(archive.IDSet, len(set))
		for id := range set {
			opts.Only[id] = struct{}{}
		}
		g.log.Info("query selected messages", "query", s.query, "messages", len(set))
	}
	return a.Select(ctx, opts)
}

// exportJob is what one exporter does, given the frame's archive,
// selection, run id, progress and report.
type exportJob func(ctx context.Context, a *archive.Archive, sel *archive.Selection, run int64, prog progress.Counter, rep *exporters.Report) error

// exportReport is the JSON form of a finished export.
type exportReport struct {
	Command  string                    `json:"command"`
	DryRun   bool                      `json:"dry_run,omitempty"`
	Target   string                    `json:"target"`
	Status   string                    `json:"status"`
	Seconds  float64                   `json:"seconds"`
	Folders  []*exporters.FolderReport `json:"folders"`
	Total    exporters.FolderReport    `json:"total"`
	Problems []archive.RunProblem      `json:"problems"`
	Dropped  int                       `json:"problems_not_listed,omitempty"`
	Error    string                    `json:"error,omitempty"`
}

// exportFrame is what every export shares: open the archive (locked, or
// read-only for a dry run), resolve the selection, record the run in the
// audit log, show progress, print the report and choose the exit status.
// done names what happened to the messages that went out ("appended").
func exportFrame(ctx context.Context, g *globalOptions, command, target string, sf *selectFlags, dryRun bool, done string, job exportJob) error {
	a, err := archive.Open(ctx, g.archiveDir, archive.Options{ReadOnly: dryRun, Logger: g.log})
	if err != nil {
		return err
	}
	defer a.Close()
	sel, err := sf.resolve(ctx, g, a)
	if err != nil {
		return err
	}
	var run *archive.Run
	if !dryRun {
		if run, err = a.BeginRun(ctx, command, strings.TrimSpace(target+" "+sf.String())); err != nil {
			return err
		}
	}
	prog := newProgress(g, "exporting")
	rep := &exporters.Report{}
	start := time.Now()
	runID := int64(0)
	if run != nil {
		runID = run.ID
	}
	err = job(ctx, a, sel, runID, prog, rep)
	prog.Finish()
	elapsed := time.Since(start)
	rep.Finish()
	status := archive.RunOK
	switch {
	case ctx.Err() != nil:
		status = archive.RunInterrupted
	case err != nil:
		status = archive.RunFailed
	case rep.Failures() > 0:
		status = archive.RunPartial
	}
	if run != nil {
		run.Status = status
		run.Counts = rep.RunCounts()
		run.Problems, _ = rep.Problems()
		if ferr := a.FinishRun(run); ferr != nil {
			err = errors.Join(err, ferr)
		}
	}
	printExportReport(g, command, target, dryRun, done, status, rep, elapsed, err)
	if err != nil {
		return err
	}
	if rep.Failures() > 0 {
		return errPartial
	}
	return nil
}

func printExportReport(g *globalOptions, command, target string, dryRun bool, done, status string, rep *exporters.Report, d time.Duration, err error) {
	probs, dropped := rep.Problems()
	tot := rep.Total()
	if g.json {
		r := exportReport{Command: command, DryRun: dryRun, Target: target, Status: status, Seconds: d.Seconds(),
			Folders: rep.Folders(), Total: tot, Problems: probs, Dropped: dropped}
		if r.Folders == nil {
			r.Folders = []*exporters.FolderReport{}
		}
		if r.Problems == nil {
			r.Problems = []archive.RunProblem{}
		}
		if err != nil {
			r.Error = err.Error()
		}
		printJSON(g.stdout, r)
		return
	}
	printProblems(g.stderr, "", probs)
	if dropped > 0 {
		fmt.Fprintf(g.stderr, "... and %d more problems (see the audit log)\n", dropped)
	}
	if dryRun {
		done = "would " + strings.TrimSuffix(done, "ed")
	}
	if !g.quiet {
		printExportFolders(g.stdout, rep.Folders(), done, dryRun)
	}
	created := 0
	for _, f := range rep.Folders() {
		if f.Created {
			created++
		}
	}
	line := fmt.Sprintf("%s: %d messages selected (%s): %d %s (%s)",
		command, tot.Selected.Messages, humanBytes(tot.Selected.Bytes), tot.Done.Messages, done, humanBytes(tot.Done.Bytes))
	for _, x := range []struct {
		n    int64
		what string
	}{{tot.Already.Messages, "already there (receipts)"}, {tot.Found.Messages, "found there without a receipt"},
		{tot.Duplicate.Messages, "selected in two folders (exported once)"}} {
		if x.n > 0 {
			line += fmt.Sprintf(", %d %s", x.n, x.what)
		}
	}
	line += fmt.Sprintf(", %d failed", tot.Failed.Messages)
	if tot.Left.Messages > 0 {
		line += fmt.Sprintf(", %d not reached", tot.Left.Messages)
	}
	if created > 0 {
		verb := "created"
		if dryRun {
			verb = "to create"
		}
		line += fmt.Sprintf("; %d folders %s", created, verb)
	}
	if v := tot.Verify; v != nil {
		line += fmt.Sprintf("; verified %d: %d present, %d missing, %d with another size", v.Checked, v.Present, v.Missing, v.SizeMismatch)
	}
	if s := d.Seconds(); s > 0 && !dryRun {
		line += fmt.Sprintf("; %.1fs", s)
		if tot.Done.Messages > 0 {
			line += fmt.Sprintf(", %.0f msg/s, %s/s", float64(tot.Done.Messages)/s, humanBytes(int64(float64(tot.Done.Bytes)/s)))
		}
	}
	fmt.Fprintln(g.stdout, line)
	if dryRun {
		fmt.Fprintln(g.stdout, "dry run: nothing was created, sent or recorded")
	}
}

// printExportFolders writes the per-folder reconciliation table.
func printExportFolders(w io.Writer, folders []*exporters.FolderReport, done string, dryRun bool) {
	if len(folders) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "selected\t%s\talready\tfound\tdup\tfailed\tleft\t  \tfolder\n", done)
	cnt := func(c exporters.Count) string {
		if c.Messages == 0 {
			return "0"
		}
		return fmt.Sprintf("%d (%s)", c.Messages, humanBytes(c.Bytes))
	}
	for _, f := range folders {
		name := f.Folder
		var notes []string
		if f.Created {
			if dryRun {
				notes = append(notes, "to create")
			} else {
				notes = append(notes, "created")
			}
		}
		if len(f.Sources) > 1 || (len(f.Sources) == 1 && !strings.HasSuffix(f.Sources[0], "/"+f.Folder)) {
			notes = append(notes, "from "+strings.Join(f.Sources, ", "))
		}
		if v := f.Verify; v != nil {
			notes = append(notes, fmt.Sprintf("verified %d/%d", v.Present, v.Checked))
		}
		if f.Note != "" {
			notes = append(notes, f.Note)
		}
		if len(notes) > 0 {
			name += "  [" + strings.Join(notes, "; ") + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t  \t%s\n", cnt(f.Selected), cnt(f.Done), cnt(f.Already), cnt(f.Found),
			cnt(f.Duplicate), cnt(f.Failed), cnt(f.Left), name)
	}
	tw.Flush()
}
