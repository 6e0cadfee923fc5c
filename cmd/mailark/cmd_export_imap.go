package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	imapexp "github.com/mailark/mailark/exporters/imap"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/tlsopt"
	"github.com/spf13/cobra"
)

type exportIMAPOptions struct {
	conn        connFlags
	sel         selectFlags
	folderMap   []string
	prefix      string
	connections int
	window      int
	dryRun      bool
	verify      bool
	target      string
}

func newExportIMAPCommand(g *globalOptions) *cobra.Command {
	var o exportIMAPOptions
	c := &cobra.Command{
		Use:   "imap --host HOST --user USER (--password-file F | --password-env VAR | --password-cmd CMD)",
		Short: "Copy messages to an IMAP server with APPEND, keeping folders, flags and dates",
		Long: `Copy the selected messages into an IMAP account with APPEND. Each message goes
with its flags (keywords too; never \Recent) and its INTERNALDATE, and its
bytes are exactly the archived ones with line ends as CRLF (a file with bare
LF is sent with CRLF and its size counted that way), so the copy on the
server has the same ID as the archived message.

Target folders follow the source tree: account/Archive/2019 becomes the
folder Archive/2019 (several accounts merge unless --prefix separates them:
--prefix 'Old/%a' puts them below Old/<account>). --folder-map SRC=DST
renames a folder and its subfolders (it wins over --prefix; repeatable).
Names are translated to the server's hierarchy delimiter and personal
namespace; imapclient encodes them as modified UTF-7. Missing folders are
created and subscribed.

The server's OK to each APPEND is recorded as a receipt (with the APPENDUID
where the server has UIDPLUS), keyed by server, user, target folder and
message ID, committed in batches (32 receipts or half a second). A rerun, or
a run after an interruption, appends nothing that has a receipt. An
interrupt (Ctrl-C) waits for the answers to the APPENDs in flight and
records them; a kill loses the receipts not yet committed. So before
appending into a folder that exists, mailark reconciles it: messages on the
server without a receipt are found by Message-ID and size, confirmed by
their bytes, and recorded instead of appended again (messages without a
Message-ID are found by size and bytes). No message is appended twice,
however often a run is killed and resumed, unless the server rewrites
messages on APPEND: there the byte comparison fails, and a kill can
duplicate at most the messages whose receipts were not yet committed.

--connections connections work in parallel, each on its own folder (servers
lock a folder for each APPEND), largest folders first; each SELECTs its
folder and keeps up to --window APPENDs in flight.

Messages the server cannot take as they are, are reported and not sent:
larger than its APPENDLIMIT, or holding a NUL byte or a bare CR (they fail
on every run: leave them out with --query, or export them with 'export
mbox' or 'export eml'). --verify checks afterwards, by UID
FETCH RFC822.SIZE (or by Message-ID and size), that every selected message
with a receipt is on the server with the size sent; one that is missing
loses its receipt, so the next run appends it again. --dry-run connects,
reconciles and prints what would be created and appended, changing nothing.

The report lists per target folder what was selected, appended, already
there by receipt, found there by reconciliation, selected twice for the same
folder (appended once), failed, and not reached.
` + selectionHelp,
		Example: `  mailark export imap --host imap.example.org --user alice --password-cmd 'pass mail/alice'
  mailark export imap --host imap.example.org --tls tls --user alice --password-env PW \
      --account old --prefix Imported --folder-map Sent='Sent Items' --verify
  mailark export imap --host imap.example.org --user alice --password-file pw \
      --query 'from:bob after:2020' --dry-run`,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if o.target != "" {
				t, err := applyTarget(cmd, g, "imap", o.target, &o.conn)
				if err != nil {
					return err
				}
				if !cmd.Flags().Changed("prefix") && t.Prefix != "" {
					o.prefix = t.Prefix
				}
				if !cmd.Flags().Changed("folder-map") && len(t.FolderMap) > 0 {
					o.folderMap = t.FolderMap
				}
			}
			if o.conn.host == "" {
				return &usageError{errors.New("--host (or --target) is required")}
			}
			if o.conn.user == "" {
				return &usageError{errors.New("--user is required")}
			}
			if !o.conn.password.IsSet() {
				return &usageError{errors.New("no password given: use --password-file, --password-env or --password-cmd")}
			}
			if o.connections < 1 || o.connections > 16 {
				return &usageError{fmt.Errorf("--connections %d: want 1 to 16", o.connections)}
			}
			if o.window < 1 || o.window > 64 {
				return &usageError{fmt.Errorf("--window %d: want 1 to 64", o.window)}
			}
			if err := imapexp.CheckPrefix(o.prefix); err != nil {
				return &usageError{err}
			}
			for _, m := range o.folderMap {
				if _, err := imapexp.ParseMapping(m); err != nil {
					return &usageError{err}
				}
			}
			return o.sel.validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportIMAP(cmd.Context(), g, o)
		},
	}
	o.conn.addFlags(c, tlsopt.StartTLS)
	o.sel.addFlags(c)
	f := c.Flags()
	f.StringArrayVar(&o.folderMap, "folder-map", nil, "put source folder SRC (and its subfolders) into target folder DST: SRC=DST (repeatable)")
	f.StringVar(&o.prefix, "prefix", "", "put every folder below this target folder; %a stands for the account")
	f.StringVar(&o.target, "target", "", "take the connection, prefix and folder map from this [[target]] of mailark.toml (flags override it)")
	f.IntVar(&o.connections, "connections", 4, "connections APPENDing in parallel, each into its own folder")
	f.IntVar(&o.window, "window", 8, "APPENDs in flight on each connection")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would be created and appended; change nothing")
	f.BoolVar(&o.verify, "verify", false, "afterwards, check on the server that every selected message with a receipt is there with its size")
	return withExitStatus(c)
}

func runExportIMAP(ctx context.Context, g *globalOptions, o exportIMAPOptions) error {
	addr, to, err := o.conn.resolve("imap")
	if err != nil {
		return err
	}
	cfg, err := o.conn.tlsConfig(g, "imap", to)
	if err != nil {
		return err
	}
	var maps []imapexp.Mapping
	for _, m := range o.folderMap {
		mp, _ := imapexp.ParseMapping(m)
		maps = append(maps, mp)
	}
	target := fmt.Sprintf("imap://%s@%s", o.conn.user, addr)
	return exportFrame(ctx, g, "export imap", target, &o.sel, o.dryRun, "appended",
		func(ctx context.Context, a *archive.Archive, sel *archive.Selection, run int64, prog progress.Counter, rep *exporters.Report) error {
			pw, err := o.conn.password.Read(ctx)
			if err != nil {
				return err
			}
			opts := imapexp.Options{
				Addr: addr, TLS: to.Mode, TLSConfig: cfg, User: o.conn.user, Password: pw,
				Prefix: o.prefix, FolderMap: maps, Connections: o.connections, Window: o.window,
				Verify: o.verify, Run: run, Logger: g.log, Progress: prog,
			}
			if o.dryRun {
				return imapexp.DryRun(ctx, a, sel, opts, rep)
			}
			return imapexp.Run(ctx, a, sel, opts, rep)
		})
}
