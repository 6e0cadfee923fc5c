package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	pop3imp "github.com/mailark/mailark/importers/pop3"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/secret"
	"github.com/mailark/mailark/internal/tlsopt"
	"github.com/spf13/cobra"
)

// pop3Options are the flags of 'import pop3'.
type pop3Options struct {
	conn    connFlags
	account string
	folder  string
	delete  bool
	dryRun  bool
	timeout time.Duration
}

func newImportPOP3Command(g *globalOptions) *cobra.Command {
	var o pop3Options
	c := &cobra.Command{
		Use:   "pop3 --host H --user U (--password-file F | --password-env VAR | --password-cmd CMD)",
		Short: "Fetch a POP3 maildrop; with --delete, empty it of what is archived",
		Long: `Fetch the messages of a POP3 maildrop into the archive (INBOX of the account,
or --folder). The server's unique ids (UIDL) decide what is new: a message
fetched once is never fetched again, whatever account it was filed under. A
server without UIDL gets every message fetched, and the archive recognises
those it has by their content. The internal date is the newest Received
header's date, else the Date header's, else the time of import.

Connections are encrypted: STLS on port 110 by default, implicit TLS with
--tls tls (the default on --port 995), certificates verified (--tls-ca adds
a private CA). --tls none sends the password in the clear (APOP excepted).

Without --delete nothing on the server changes. With --delete, a message is
deleted only once it is durably stored and recorded in the archive; messages
archived by earlier runs are deleted too. POP3 removes messages only when a
session ends with QUIT, which is sent only after that: an interrupted or
failed run deletes nothing, and the next run picks up where it stopped.

A message the server refuses is reported as failed and the run goes on. A
connection that breaks mid-message loses nothing: the partial message is
never stored, and the import reconnects and carries on.`,
		Example: `  mailark import pop3 --host pop.example.org --user alice --password-cmd 'pass show mail/alice'
  mailark import pop3 --host pop.example.org --port 995 --user alice --password-env POP_PASS --delete
  mailark import pop3 --host 127.0.0.1 --tls none --user test --password-file pw --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("tls") && o.conn.port == "995" {
				o.conn.tlsMode = string(tlsopt.Implicit)
			}
			return runImportPOP3(cmd.Context(), g, o)
		},
	}
	o.conn.addFlags(c, tlsopt.StartTLS)
	f := c.Flags()
	f.StringVar(&o.account, "account", "", "account the messages are filed under (default: the --user name)")
	f.StringVar(&o.folder, "folder", "", "folder the messages go to (default INBOX)")
	f.BoolVar(&o.delete, "delete", false, "delete from the server every message that is durably archived (this run's and earlier ones')")
	f.BoolVar(&o.dryRun, "dry-run", false, "connect, log in and list; report what would be fetched and deleted, change nothing")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up on a server that sends nothing for this long")
	return withExitStatus(c)
}

// pop3Config checks the flags and turns them into the importer's config,
// reading the password.
func (o *pop3Options) pop3Config(ctx context.Context, g *globalOptions) (pop3imp.Config, error) {
	addr, topts, err := o.conn.resolve("pop3")
	if err != nil {
		return pop3imp.Config{}, err
	}
	if o.conn.user == "" {
		return pop3imp.Config{}, &usageError{errors.New("--user is required")}
	}
	if !o.conn.password.IsSet() {
		return pop3imp.Config{}, &usageError{secret.ErrNone}
	}
	if o.folder != "" {
		if _, err := archive.CanonicalFolder(o.folder); err != nil {
			return pop3imp.Config{}, &usageError{fmt.Errorf("--folder: %w", err)}
		}
	}
	if o.account == "" {
		o.account = o.conn.user
	}
	if o.timeout <= 0 {
		return pop3imp.Config{}, &usageError{errors.New("--timeout must be positive")}
	}
	tlsCfg, err := o.conn.tlsConfig(g, "pop3", topts)
	if err != nil {
		return pop3imp.Config{}, err
	}
	password, err := o.conn.password.Read(ctx)
	if err != nil {
		return pop3imp.Config{}, err
	}
	sec := pop3imp.STARTTLS
	switch topts.Mode {
	case tlsopt.Implicit:
		sec = pop3imp.ImplicitTLS
	case tlsopt.None:
		sec = pop3imp.Plain
	}
	cfg := pop3imp.Config{
		Addr: addr, Host: o.conn.host, User: o.conn.user, Password: password,
		Dial:    pop3imp.Options{Security: sec, TLSConfig: tlsCfg, Timeout: o.timeout, Logger: g.log},
		Account: o.account, Folder: o.folder, Delete: o.delete,
		Logger: g.log,
	}
	return cfg, nil
}

func runImportPOP3(ctx context.Context, g *globalOptions, o pop3Options) error {
	accountDefaulted := o.account == ""
	cfg, err := o.pop3Config(ctx, g)
	if err != nil {
		return err
	}
	if o.dryRun {
		return runPOP3DryRun(ctx, g, cfg)
	}
	args := o.conn.String() + " account=" + cfg.Account
	if o.folder != "" {
		args += " folder=" + o.folder
	}
	if o.delete {
		args += " --delete"
	}
	var res *pop3imp.Result
	return runImportFrame(ctx, g, "import pop3", args,
		func(ctx context.Context, a *archive.Archive, w *archive.Writer, prog progress.Counter, rep *importers.Report) error {
			known, err := a.SourceRefs(ctx, pop3imp.SourceName(cfg.Host, cfg.User))
			if err != nil {
				return err
			}
			cfg.Known, cfg.Progress = known, prog
			res, err = pop3imp.Import(ctx, cfg, w, rep)
			if errors.Is(err, archive.ErrBadName) && accountDefaulted {
				err = fmt.Errorf("%w (the account is named after --user by default: give --account)", err)
			}
			return err
		},
		func(run *archive.Run, importTime, indexTime time.Duration, err error) {
			if !g.json {
				printImportReport(g, "import pop3", run, importTime, indexTime, err)
				if res != nil && o.delete {
					fmt.Fprintf(g.stdout, "import pop3: %d messages deleted from the server\n", res.Deleted)
				}
				return
			}
			// The usual report, plus what happened on the server.
			r := pop3Report{importReport: importReport{Command: "import pop3", Status: run.Status, Seconds: importTime.Seconds(),
				IndexSeconds: indexTime.Seconds(), Counts: run.Counts, Problems: run.Problems}, Server: res}
			if r.Problems == nil {
				r.Problems = []archive.RunProblem{}
			}
			if err != nil {
				r.Error = err.Error()
			}
			printJSON(g.stdout, r)
		})
}

// pop3Report is the JSON report of 'import pop3'.
type pop3Report struct {
	importReport
	Server *pop3imp.Result `json:"server,omitempty"`
}

// runPOP3DryRun lists the maildrop and says what an import would do.
func runPOP3DryRun(ctx context.Context, g *globalOptions, cfg pop3imp.Config) error {
	source := pop3imp.SourceName(cfg.Host, cfg.User)
	cfg.Known = map[string]archive.ID{}
	if empty, _ := dirEmptyOrMissing(g.archiveDir); !empty {
		a, err := openArchiveReadOnly(ctx, g)
		if err != nil {
			return err
		}
		cfg.Known, err = a.SourceRefs(ctx, source)
		a.Close()
		if err != nil {
			return err
		}
	}
	p, err := pop3imp.DryRun(ctx, cfg)
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(g.stdout, p)
	}
	fmt.Fprintf(g.stdout, "import pop3 (dry run): %d messages on the server (%s): %d to fetch (%s), %d already archived\n",
		p.OnServer, humanBytes(p.Bytes), p.ToFetch, humanBytes(p.FetchBytes), p.Known)
	if p.NoUIDL {
		fmt.Fprintln(g.stdout, "the server has no UIDL: every message would be fetched, and duplicates recognised by content")
	}
	if cfg.Delete {
		fmt.Fprintf(g.stdout, "--delete would remove the %d already archived now, and each fetched message once it is stored\n", p.Known)
	}
	return nil
}
