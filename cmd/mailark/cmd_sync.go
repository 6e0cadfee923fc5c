package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	imapimp "github.com/mailark/mailark/importers/imap"
	pop3imp "github.com/mailark/mailark/importers/pop3"
	"github.com/mailark/mailark/internal/config"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/secret"
	"github.com/spf13/cobra"
)

func init() { register("import", newSyncCommand) }

func newSyncCommand(g *globalOptions) *cobra.Command {
	var parallel int
	c := &cobra.Command{
		Use:   "sync [ACCOUNT...]",
		Short: "Import every account of mailark.toml (or the named ones), incrementally",
		Long: `Run the IMAP and POP3 accounts configured in ARCHIVE/mailark.toml (see
'mailark init'), or only the named ones, each as 'import imap' or 'import
pop3' would with the same settings: only new mail is fetched. Accounts run in
parallel (--parallel, or [sync] parallel in the file; default 2) into one
archive, then the search index is brought up to date once, and one table
summarises every account. Suitable for cron: no progress bar unless stderr is
a terminal, --json for a machine-readable report.

Exit status 1 when an account could not be synced at all (no connection,
refused login), 3 when every account ran but some messages failed.`,
		Example: "  mailark sync\n  mailark sync work old-pop --json",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(cmd.Context(), g, args, parallel, cmd.Flags().Changed("parallel"))
		},
	}
	c.Args = cobra.ArbitraryArgs
	c.Flags().IntVar(&parallel, "parallel", 2, "accounts synced at once")
	return withExitStatus(c)
}

// syncResult is one account's outcome.
type syncResult struct {
	Account  string               `json:"account"`
	Kind     string               `json:"kind"`
	Status   string               `json:"status"` // ok, partial, failed, interrupted
	Seconds  float64              `json:"seconds"`
	Counts   archive.RunCounts    `json:"counts"`
	Problems []archive.RunProblem `json:"problems"`
	Error    string               `json:"error,omitempty"`
}

func runSync(ctx context.Context, g *globalOptions, names []string, parallel int, parallelSet bool) error {
	cfg, err := config.Load(filepath.Join(g.archiveDir, config.FileName))
	if err != nil {
		return err
	}
	accounts, err := selectAccounts(g, cfg, names)
	if err != nil {
		return err
	}
	if !parallelSet && cfg.Sync.Parallel > 0 {
		parallel = cfg.Sync.Parallel
	}
	if parallel < 1 {
		return &usageError{errors.New("--parallel must be at least 1")}
	}
	a, err := openArchive(ctx, g)
	if err != nil {
		return err
	}
	defer a.Close()
	results, err := syncAccounts(ctx, g, a, accounts, parallel, func(ctx context.Context, rep *importers.Report) error {
		return indexArchive(ctx, g, a, rep)
	})
	printSyncReport(g, results)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	failedAccounts, failedMessages := 0, 0
	for _, r := range results {
		if r.Error != "" {
			failedAccounts++
		}
		if r.Counts.Failed > 0 {
			failedMessages++
		}
	}
	switch {
	case failedAccounts > 0:
		return &exitError{code: exitFailure, err: fmt.Errorf("sync: %d of %d accounts failed", failedAccounts, len(results))}
	case failedMessages > 0:
		return errPartial
	}
	return nil
}

// selectAccounts returns the named accounts of cfg, or all of them.
func selectAccounts(g *globalOptions, cfg *config.Config, names []string) ([]config.Account, error) {
	accounts := cfg.Accounts
	if len(names) > 0 {
		accounts = nil
		for _, n := range names {
			a, ok := cfg.Account(n)
			if !ok {
				return nil, &usageError{fmt.Errorf("no account %q in %s", n, filepath.Join(g.archiveDir, config.FileName))}
			}
			accounts = append(accounts, a)
		}
	}
	if len(accounts) == 0 {
		return nil, &usageError{fmt.Errorf("no accounts to sync: add [[account]] entries to %s (mailark init writes an example)", filepath.Join(g.archiveDir, config.FileName))}
	}
	return accounts, nil
}

// syncAccounts runs accounts, at most parallel at once, into one writer of
// the open archive a, then calls index once. It returns one result per
// account; the error is for the archive as a whole (commit, index, audit).
func syncAccounts(ctx context.Context, g *globalOptions, a *archive.Archive, accounts []config.Account, parallel int,
	index func(context.Context, *importers.Report) error) ([]syncResult, error) {
	// One audit-log row per account, begun before the writer's first
	// transaction holds the catalog's only write connection.
	runs := make([]*archive.Run, len(accounts))
	for i, acct := range accounts {
		var err error
		if runs[i], err = a.BeginRun(ctx, "sync", acct.Name); err != nil {
			return nil, err
		}
	}
	w, err := newWriter(ctx, a)
	if err != nil {
		return nil, err
	}
	prog := newProgress(g, "syncing")
	results := make([]syncResult, len(accounts))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, acct := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			rep := &importers.Report{}
			err := syncAccount(ctx, g, a, w, acct, prog, rep)
			results[i] = syncResult{Account: acct.Name, Kind: acct.Kind, Seconds: time.Since(start).Seconds(), Counts: rep.RunCounts, Problems: rep.Problems}
			if err != nil {
				results[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	cerr := w.Commit(context.WithoutCancel(ctx))
	prog.Finish()
	if cerr == nil && ctx.Err() == nil {
		if ierr := index(ctx, &importers.Report{}); ierr != nil {
			cerr = fmt.Errorf("%w (the messages are archived; the index catches up on the next run or 'mailark reindex')", ierr)
		}
	}
	for i := range results {
		r := &results[i]
		switch {
		case ctx.Err() != nil:
			r.Status = archive.RunInterrupted
		case r.Error != "" || cerr != nil:
			r.Status = archive.RunFailed
		case r.Counts.Failed > 0:
			r.Status = archive.RunPartial
		default:
			r.Status = archive.RunOK
		}
		if r.Problems == nil {
			r.Problems = []archive.RunProblem{}
		}
		runs[i].Status, runs[i].Counts, runs[i].Problems = r.Status, r.Counts, r.Problems
		if r.Error != "" {
			runs[i].Problems = append(runs[i].Problems, archive.RunProblem{Where: "sync:" + r.Account, Error: r.Error, Fatal: true})
		}
		if ferr := a.FinishRun(runs[i]); ferr != nil {
			cerr = errors.Join(cerr, ferr)
		}
	}
	return results, cerr
}

// syncAccount imports one configured account into the shared writer.
func syncAccount(ctx context.Context, g *globalOptions, a *archive.Archive, w *archive.Writer, acct config.Account, prog progress.Counter, rep *importers.Report) error {
	conn := connFlags{
		host: acct.Host, tlsMode: acct.TLS, user: acct.User, tlsCA: acct.TLSCA,
		insecureSkipVerify: acct.InsecureSkipVerify,
		password:           secret.Source{File: acct.PasswordFile, Env: acct.PasswordEnv, Cmd: acct.PasswordCmd},
	}
	if conn.tlsMode == "" {
		conn.tlsMode = "starttls"
		if acct.Port == 993 || acct.Port == 995 {
			conn.tlsMode = "tls"
		}
	}
	if acct.Port > 0 {
		conn.port = strconv.Itoa(acct.Port)
	}
	switch acct.Kind {
	case "imap":
		o := importIMAPOptions{conn: conn, account: acct.Name, folders: acct.Folders, exclude: acct.Exclude,
			connections: max(acct.Connections, 1), timeout: 60 * time.Second}
		if acct.Connections == 0 {
			o.connections = 3
		}
		opts, err := o.imapOptions(ctx, g)
		if err != nil {
			return err
		}
		_, err = imapimp.Run(ctx, w, opts, rep, prog)
		return err
	case "pop3":
		o := pop3Options{conn: conn, account: acct.Name, delete: acct.Delete, timeout: 60 * time.Second}
		cfg, err := o.pop3Config(ctx, g)
		if err != nil {
			return err
		}
		known, err := a.SourceRefs(ctx, pop3imp.SourceName(cfg.Host, cfg.User))
		if err != nil {
			return err
		}
		cfg.Known, cfg.Progress = known, prog
		_, err = pop3imp.Import(ctx, cfg, w, rep)
		return err
	}
	return fmt.Errorf("account %s: unknown kind %q", acct.Name, acct.Kind)
}

func printSyncReport(g *globalOptions, results []syncResult) {
	if g.json {
		printJSON(g.stdout, results)
		return
	}
	for _, r := range results {
		printProblems(g.stderr, r.Account+": ", r.Problems)
	}
	tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "account\tkind\tstatus\tnew\tlinked\tarchived\tfailed\tbytes\tseconds\t")
	for _, r := range results {
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%.1f\t\n", r.Account, r.Kind, r.Status, c.New, c.Linked, c.Existing, c.Failed, humanBytes(c.Bytes), r.Seconds)
	}
	tw.Flush()
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(g.stderr, "%s: %s\n", r.Account, strings.TrimSpace(r.Error))
		}
	}
}
