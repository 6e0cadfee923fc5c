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
	"github.com/mailark/mailark/importers"
	imapimp "github.com/mailark/mailark/importers/imap"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/tlsopt"
	"github.com/spf13/cobra"
)

type importIMAPOptions struct {
	conn        connFlags
	auth        string
	account     string
	folders     []string
	exclude     []string
	connections int
	timeout     time.Duration
	dryRun      bool
}

func newImportIMAPCommand(g *globalOptions) *cobra.Command {
	var o importIMAPOptions
	c := &cobra.Command{
		Use:   "imap --host HOST --user USER (--password-file F | --password-env VAR | --password-cmd CMD)",
		Short: "Import all folders of an IMAP account, incrementally",
		Long: `Import the folders of an IMAP account: every folder by default, or those
matching --folder and not --exclude. The server is only read: folders are
opened with EXAMINE and messages fetched with BODY.PEEK[], so no flag changes.
Flags (system flags and keywords, not \Recent) and INTERNALDATE are kept.

The first run fetches everything; later runs fetch only messages above the
last UID archived, which costs one EXAMINE per folder when nothing is new.
When a folder's UIDVALIDITY changes, it is read again from UID 1 (messages
already archived are not stored twice) and the report says so. Messages the
server would not send are reported by UID and tried again on the next run.
An interrupted run, or a dropped connection, carries on where it stopped.

Connections use STARTTLS on port 143 by default (--tls tls: implicit TLS, port
993); the certificate is verified. mailark refuses to log in without TLS
unless --tls none is given. --auth xoauth2 and oauthbearer send the password
source's value as an OAuth 2 access token (e.g. --password-cmd printing one).

Folder patterns match mailark's folder names ('/' between levels, UTF-8,
whatever the server's delimiter) with path.Match syntax, where * and ? also
match across '/': 'Archive/*' is everything below Archive.

The account defaults to the user name, with characters an account name
cannot hold replaced by '_'. --dry-run lists the folders and how many
messages a run would fetch, and changes nothing.`,
		Example: `  mailark import imap --host imap.example.org --user alice --password-cmd 'pass mail/alice'
  mailark import imap --host imap.example.org --tls tls --user alice@example.org \
      --password-env IMAP_PASSWORD --folder 'INBOX' --folder 'Archive/*' --exclude Trash
  mailark import imap --host imap.gmail.com --tls tls --user me@gmail.com --auth xoauth2 \
      --password-cmd 'oauth2-token me@gmail.com' --dry-run`,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if _, err := imapimp.ParseAuth(o.auth); err != nil {
				return &usageError{err}
			}
			if o.conn.user == "" {
				return &usageError{errors.New("--user is required")}
			}
			if !o.conn.password.IsSet() {
				return &usageError{errors.New("no password given: use --password-file, --password-env or --password-cmd")}
			}
			if o.connections < 1 || o.connections > 32 {
				return &usageError{fmt.Errorf("--connections %d: want 1 to 32", o.connections)}
			}
			for _, p := range append(append([]string(nil), o.folders...), o.exclude...) {
				if _, err := archive.MatchFolder(p, archive.Inbox); err != nil {
					return &usageError{err}
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImportIMAP(cmd.Context(), g, o)
		},
	}
	o.conn.addFlags(c, tlsopt.StartTLS)
	f := c.Flags()
	f.StringVar(&o.auth, "auth", "", "login mechanism: plain, login, xoauth2 or oauthbearer (default: plain if offered, else login)")
	f.StringVar(&o.account, "account", "", "account the messages are filed under (default: the user name, sanitised)")
	f.StringArrayVar(&o.folders, "folder", nil, "import only folders matching this pattern (repeatable)")
	f.StringArrayVar(&o.exclude, "exclude", nil, "skip folders matching this pattern (repeatable)")
	f.IntVar(&o.connections, "connections", 3, "parallel connections to the server")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "give a connection up when the server sends nothing for this long while an answer is due")
	f.BoolVar(&o.dryRun, "dry-run", false, "list folders and count new messages; change nothing")
	return withExitStatus(c)
}

// imapOptions turns the flags into the importer's options, reading the
// password.
func (o importIMAPOptions) imapOptions(ctx context.Context, g *globalOptions) (imapimp.Options, error) {
	addr, to, err := o.conn.resolve("imap")
	if err != nil {
		return imapimp.Options{}, err
	}
	auth, _ := imapimp.ParseAuth(o.auth)
	cfg, err := o.conn.tlsConfig(g, "imap", to)
	if err != nil {
		return imapimp.Options{}, err
	}
	pw, err := o.conn.password.Read(ctx)
	if err != nil {
		return imapimp.Options{}, err
	}
	account := o.account
	if account == "" {
		account = imapimp.AccountName(o.conn.user)
	}
	return imapimp.Options{
		Addr: addr, Host: o.conn.host, TLS: to.Mode, TLSConfig: cfg,
		User: o.conn.user, Password: pw, Auth: auth, Account: account,
		Include: o.folders, Exclude: o.exclude, Connections: o.connections,
		IdleTimeout: o.timeout, Logger: g.log,
	}, nil
}

// imapImportReport is the JSON report of import imap: the shared one plus
// the folders.
type imapImportReport struct {
	importReport
	Account    string                  `json:"account"`
	Folders    []*imapimp.FolderReport `json:"folders"`
	Reconnects int                     `json:"reconnects"`
}

func runImportIMAP(ctx context.Context, g *globalOptions, o importIMAPOptions) error {
	opts, err := o.imapOptions(ctx, g)
	if err != nil {
		return err
	}
	if o.dryRun {
		return runImportIMAPDry(ctx, g, opts)
	}
	command := "import imap"
	var sum *imapimp.Summary
	return runImportFrame(ctx, g, command, o.conn.String(),
		func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error {
			var err error
			sum, err = imapimp.Run(ctx, w, opts, rep, prog)
			return err
		},
		func(run *archive.Run, importTime, indexTime time.Duration, err error) {
			if sum == nil {
				sum = &imapimp.Summary{}
			}
			if !g.json {
				if !g.quiet {
					printIMAPFolders(g.stderr, sum)
				}
				printImportReport(g, command, run, importTime, indexTime, err)
				return
			}
			r := imapImportReport{
				importReport: importReport{Command: command, Status: run.Status, Seconds: importTime.Seconds(),
					IndexSeconds: indexTime.Seconds(), Counts: run.Counts, Problems: run.Problems},
				Account: opts.Account, Folders: sum.Folders, Reconnects: sum.Reconnects,
			}
			if r.Problems == nil {
				r.Problems = []archive.RunProblem{}
			}
			if r.Folders == nil {
				r.Folders = []*imapimp.FolderReport{}
			}
			if err != nil {
				r.Error = err.Error()
			}
			printJSON(g.stdout, r)
		})
}

func runImportIMAPDry(ctx context.Context, g *globalOptions, opts imapimp.Options) error {
	var st imapimp.StateReader
	a, err := openArchiveReadOnly(ctx, g)
	switch {
	case err == nil:
		defer a.Close()
		st = a
	case errors.Is(err, archive.ErrNotArchive):
		// No archive yet: everything would be new.
	default:
		return err
	}
	rep := &importers.Report{}
	sum, err := imapimp.DryRun(ctx, st, opts, rep)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(g.stdout, struct {
			DryRun   bool                    `json:"dry_run"`
			Account  string                  `json:"account"`
			Folders  []*imapimp.FolderReport `json:"folders"`
			Problems []archive.RunProblem    `json:"problems"`
		}{true, opts.Account, sum.Folders, append([]archive.RunProblem{}, rep.Problems...)})
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(g.stderr, "warning: %s: %s\n", p.Where, p.Error)
	}
	tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "folder\tmessages\tto fetch\tbytes\t\n")
	var n int
	var b int64
	for _, f := range sum.Folders {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", folderLabel(f), f.Messages, f.ToFetch, humanBytes(f.ToFetchBytes), f.Note)
		n += f.ToFetch
		b += f.ToFetchBytes
	}
	tw.Flush()
	fmt.Fprintf(g.stdout, "import imap --dry-run: %d folders, %d messages (%s) to fetch into account %s; nothing changed\n",
		len(sum.Folders), n, humanBytes(b), opts.Account)
	return nil
}

func folderLabel(f *imapimp.FolderReport) string {
	if f.SpecialUse != "" {
		return f.Folder + " (" + f.SpecialUse + ")"
	}
	return f.Folder
}

// printIMAPFolders writes the per-folder table of a run.
func printIMAPFolders(w io.Writer, sum *imapimp.Summary) {
	if len(sum.Folders) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "folder\tnew\tlinked\talready\tnear-dups\tfailed\tbytes\tseconds\t\n")
	for _, f := range sum.Folders {
		note := f.Note
		for i, fl := range f.Failures {
			if i == 3 {
				note += fmt.Sprintf("; and %d more failures", len(f.Failures)-3)
				break
			}
			note += fmt.Sprintf("; uid %d: %s", fl.UID, fl.Error)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%.1f\t%s\n", folderLabel(f), f.New, f.Linked, f.Existing, f.NearDups,
			f.Failed, humanBytes(f.Bytes), f.Seconds, strings.TrimPrefix(note, "; "))
	}
	tw.Flush()
	if sum.Reconnects > 0 {
		fmt.Fprintf(w, "%d connections were lost and reopened\n", sum.Reconnects)
	}
}
