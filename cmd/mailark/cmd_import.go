package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	emlimp "github.com/mailark/mailark/importers/eml"
	maildirimp "github.com/mailark/mailark/importers/maildir"
	mboximp "github.com/mailark/mailark/importers/mbox"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/mbox"
	"github.com/mailark/mailark/search"
	"github.com/spf13/cobra"
)

func newImportCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "import",
		Short: "Import mail into the archive",
		Long: `Import mail into the archive. Every importer streams (memory stays flat
whatever the size of the source), stores each distinct message once, and can
be interrupted and run again: nothing is lost and nothing is stored twice.
After the messages are committed, the search index is brought up to date;
--no-index skips that (for a first bulk import: indexing takes most of the
time), and the next import or 'mailark reindex' catches up.` + "\n" + exitStatusHelp,
		Example: `  mailark import imap --host imap.example.org --tls tls --user me@example.org --password-cmd 'pass show mail'
  mailark import --no-index maildir ~/Maildir --account home`,
	}
	c.PersistentFlags().BoolVar(&g.noIndex, "no-index", false, "do not update the search index now (the next import or 'mailark reindex' does)")
	c.AddCommand(newImportMboxCommand(g), newImportMaildirCommand(g), newImportEMLCommand(g))
	c.AddCommand(newImportPOP3Command(g))
	c.AddCommand(newImportIMAPCommand(g))
	return c
}

// importOptions are the flags the local importers share.
type importOptions struct {
	account string
	folder  string
}

func (o *importOptions) addFlags(c *cobra.Command, folderHelp string) {
	c.Flags().StringVar(&o.account, "account", "local", "account the messages are filed under")
	if folderHelp != "" {
		c.Flags().StringVar(&o.folder, "folder", "", folderHelp)
	}
}

func newImportMboxCommand(g *globalOptions) *cobra.Command {
	var o importOptions
	var format string
	var noLabels bool
	c := &cobra.Command{
		Use:   "mbox FILE...",
		Short: "Import mbox files (mboxrd, mboxo, Google Takeout, Thunderbird)",
		Long: `Import one or more mbox files. Messages go to INBOX unless --folder says
otherwise; a Google Takeout file's X-Gmail-Labels put each message into the
folders of its labels (Inbox, Sent, your labels; a message with no such label
goes to Archive). The From_ line's date is kept as the internal date, and
Thunderbird's X-Mozilla-Status and mutt's Status/X-Status become flags.

mboxrd (">From " quoting of every ">*From " line) is read by default; use
--format mboxo for files that quote only "From " (Thunderbird, older tools).
An interrupted import resumes at the last committed message.`,
		Example: `  mailark import mbox ~/Takeout/Mail/All\ mail\ Including\ Spam\ and\ Trash.mbox
  mailark import mbox --account old --folder Lists/golang golang.mbox`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f mbox.Format
			switch format {
			case "mboxrd":
				f = mbox.MboxRD
			case "mboxo":
				f = mbox.MboxO
			default:
				return &usageError{fmt.Errorf("--format %q: want mboxrd or mboxo", format)}
			}
			return runImport(cmd.Context(), g, "import mbox", args, o, func(ctx context.Context, w *archive.Writer, add func(importers.Source, int64, int64) error) error {
				for _, path := range args {
					resume, _, err := w.State(ctx, mboximp.StateSource(absPath(path)), "offset")
					if err != nil {
						return err
					}
					src, err := mboximp.Open(path, resume, mboximp.Options{Format: f, Labels: !noLabels})
					if err != nil {
						return err
					}
					if off := src.Resumed(); off > 0 {
						g.log.Info("resuming", "file", path, "offset", off)
					}
					err = add(src, 0, src.Total())
					src.Close()
					if err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	o.addFlags(c, "put every message into this folder (default INBOX, or the Gmail labels)")
	c.Flags().StringVar(&format, "format", "mboxrd", "quoting convention: mboxrd or mboxo")
	c.Flags().BoolVar(&noLabels, "no-labels", false, "ignore X-Gmail-Labels")
	return withExitStatus(c)
}

func newImportMaildirCommand(g *globalOptions) *cobra.Command {
	var o importOptions
	c := &cobra.Command{
		Use:   "maildir DIR",
		Short: "Import a Maildir or Maildir++ tree, keeping its folders and flags",
		Long: `Import an existing Maildir tree: Maildir++ (Dovecot, Courier: INBOX at the
top, subfolders as .Name directories) or nested directories each with
cur/new/tmp. The folder tree is kept, flags come from the file names
(and Dovecot's dovecot-keywords), the internal date from each file's mtime.
The source tree is only read.`,
		Example: `  mailark import maildir ~/Maildir --account home`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(cmd.Context(), g, "import maildir", args, o, func(ctx context.Context, w *archive.Writer, add func(importers.Source, int64, int64) error) error {
				src, err := maildirimp.Open(args[0])
				if err != nil {
					return err
				}
				defer src.Close()
				// Files recorded by an earlier run into this account are not read again.
				known, err := w.Archive().SourceRefs(ctx, maildirimp.SourceName(o.account, args[0]))
				if err != nil {
					return err
				}
				src.SkipKnown(o.account, known)
				n, b := src.Total()
				return add(src, n, b)
			})
		},
	}
	o.addFlags(c, "")
	return withExitStatus(c)
}

func newImportEMLCommand(g *globalOptions) *cobra.Command {
	var o importOptions
	c := &cobra.Command{
		Use:   "eml PATH...",
		Short: "Import .eml files, or directories of them",
		Long: `Import .eml files. A directory is searched for *.eml files; files in a
subdirectory A/B go to folder A/B (the layout 'export eml' writes), others to
INBOX, unless --folder names one folder for all. The internal date is the
Date header, or the file's mtime when there is none.`,
		Example: `  mailark import eml ~/Downloads/*.eml --folder Saved`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(cmd.Context(), g, "import eml", args, o, func(ctx context.Context, w *archive.Writer, add func(importers.Source, int64, int64) error) error {
				src, err := emlimp.Open(args)
				if err != nil {
					return err
				}
				defer src.Close()
				n, b := src.Total()
				return add(src, n, b)
			})
		},
	}
	o.addFlags(c, "put every message into this folder (default: INBOX, or the subdirectory)")
	return withExitStatus(c)
}

// importReport is the JSON form of a finished import.
type importReport struct {
	Command      string               `json:"command"`
	Status       string               `json:"status"`
	Seconds      float64              `json:"seconds"`       // importing, durably
	IndexSeconds float64              `json:"index_seconds"` // bringing the search index up to date
	Counts       archive.RunCounts    `json:"counts"`
	Problems     []archive.RunProblem `json:"problems"`
	Error        string               `json:"error,omitempty"`
}

// runImport is the frame every import shares: open, audit-log, deliver,
// commit, report. body calls add once per source.
func runImport(ctx context.Context, g *globalOptions, command string, args []string, o importOptions,
	body func(ctx context.Context, w *archive.Writer, add func(src importers.Source, msgs, bytes int64) error) error) error {
	return runImportWith(ctx, g, command, args, o, body, nil)
}

// runImportWith is runImport with a hook that sees the finished run.
func runImportWith(ctx context.Context, g *globalOptions, command string, args []string, o importOptions,
	body func(ctx context.Context, w *archive.Writer, add func(src importers.Source, msgs, bytes int64) error) error,
	done func(*archive.Run)) error {
	return runImportFrame(ctx, g, command, strings.Join(args, " "),
		func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error {
			opts := importers.Options{Account: o.account, Folder: o.folder, Progress: prog, Logger: g.log}
			return body(ctx, w, func(src importers.Source, msgs, bytes int64) error {
				prog.AddTotal(msgs, bytes)
				return importers.Run(ctx, w, src, opts, rep)
			})
		},
		func(run *archive.Run, importTime, indexTime time.Duration, err error) {
			printImportReport(g, command, run, importTime, indexTime, err)
			if done != nil {
				done(run)
			}
		})
}

// runImportFrame is the frame every import shares: open the archive (and
// its lock), record the run in the audit log, let body deliver into the
// writer and count into rep, commit what was delivered completely (also
// when interrupted), bring the index up to date, record and print the
// report (report, when set, prints it instead of printImportReport), and
// map the outcome to the exit status.
func runImportFrame(ctx context.Context, g *globalOptions, command, args string,
	body func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error,
	report func(run *archive.Run, importTime, indexTime time.Duration, err error)) error {
	a, err := openArchive(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	run, err := a.BeginRun(ctx, command, args)
	if err != nil {
		return err
	}
	w, err := newWriter(ctx, a)
	if err != nil {
		return err
	}
	prog := newProgress(g, "importing")
	rep := &importers.Report{}
	start := time.Now()
	err = body(ctx, a, w, prog, rep)
	// What was delivered completely is kept, even when the run was
	// interrupted: commit with a context that is not cancelled.
	if cerr := w.Commit(context.WithoutCancel(ctx)); cerr != nil {
		w.Abort()
		err = errors.Join(err, cerr)
	}
	prog.Finish()
	importTime := time.Since(start)
	if err == nil && ctx.Err() == nil && !g.noIndex {
		if ierr := indexArchive(ctx, g, a, rep); ierr != nil {
			err = fmt.Errorf("%w (the messages are archived; the index catches up on the next import or 'mailark reindex')", ierr)
		}
	}
	run.Counts, run.Problems = rep.RunCounts, rep.Problems
	switch {
	case ctx.Err() != nil:
		run.Status = archive.RunInterrupted
	case err != nil:
		run.Status = archive.RunFailed
	case rep.Failed > 0:
		run.Status = archive.RunPartial
	default:
		run.Status = archive.RunOK
	}
	if ferr := a.FinishRun(run); ferr != nil {
		err = errors.Join(err, ferr)
	}
	if report == nil {
		printImportReport(g, command, run, importTime, time.Since(start)-importTime, err)
	} else {
		report(run, importTime, time.Since(start)-importTime, err)
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return errPartial
	}
	return nil
}

// newWriter starts the archive writer; MAILARK_BATCH_MESSAGES sets how many
// messages one durable batch holds at most (default 1000): smaller batches
// lose less work to a crash and cost more fsyncs.
func newWriter(ctx context.Context, a *archive.Archive) (*archive.Writer, error) {
	w, err := a.NewWriter(ctx)
	if err != nil {
		return nil, err
	}
	if v := os.Getenv("MAILARK_BATCH_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("MAILARK_BATCH_MESSAGES=%q: want a positive number", v)
		}
		w.BatchMessages = n
	}
	return w, nil
}

// indexArchive brings the search index up to date with the catalog;
// messages it cannot read become warnings in rep.
func indexArchive(ctx context.Context, g *globalOptions, a *archive.Archive, rep *importers.Report) error {
	ix, err := openIndex(g, search.Dir(a.Dir()))
	if err != nil {
		return err
	}
	defer ix.Close()
	prog := newProgress(g, "indexing")
	defer prog.Finish()
	_, err = search.Sync(ctx, a, ix, prog, func(id archive.ID, err error) {
		rep.Problems = append(rep.Problems, archive.RunProblem{Where: "index:" + id.String(), Error: err.Error()})
	})
	return err
}

func printImportReport(g *globalOptions, command string, run *archive.Run, d, indexTime time.Duration, err error) {
	c := run.Counts
	if g.json {
		r := importReport{Command: command, Status: run.Status, Seconds: d.Seconds(), IndexSeconds: indexTime.Seconds(), Counts: c, Problems: run.Problems}
		if r.Problems == nil {
			r.Problems = []archive.RunProblem{}
		}
		if err != nil {
			r.Error = err.Error()
		}
		printJSON(g.stdout, r)
		return
	}
	printProblems(g.stderr, "", run.Problems)
	total := c.New + c.Linked + c.Existing
	indexed := fmt.Sprintf("indexed in %.1fs", indexTime.Seconds())
	if g.noIndex {
		indexed = "index not updated (--no-index)"
	}
	fmt.Fprintf(g.stdout, "%s: %d messages: %d new, %d duplicates linked, %d already archived, %d near-duplicates, %d failed; %s stored in %.1fs, %s\n",
		command, total, c.New, c.Linked, c.Existing, c.NearDups, c.Failed, humanBytes(c.Bytes), d.Seconds(), indexed)
}

// printProblems prints a report's problems, one a line, each after
// prefix: "warning: WHERE: ERROR", or "failed: ..." for a fatal one.
func printProblems(w io.Writer, prefix string, probs []archive.RunProblem) {
	for _, p := range probs {
		kind := "warning"
		if p.Fatal {
			kind = "failed"
		}
		fmt.Fprintf(w, "%s%s: %s: %s\n", prefix, kind, p.Where, p.Error)
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
