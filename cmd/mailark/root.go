package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	archiveDir string
	json       bool
	quiet      bool
	verbose    bool
	noIndex    bool // import --no-index
	stdout     io.Writer
	stderr     io.Writer
	log        *slog.Logger
}

const exitStatusHelp = `
EXIT STATUS
  0    success
  1    failure (nothing or not everything was done; see the message)
  2    usage error
  3    finished, but some messages failed (the report lists them)
  4    the archive is locked by another mailark process
  130  interrupted (what was complete is kept; run again to resume)`

func defaultArchiveDir() string {
	if d := os.Getenv("MAILARK_ARCHIVE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mailark")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "mailark-archive"
	}
	return filepath.Join(home, ".local", "share", "mailark")
}

func newRootCommand(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "mailark",
		Short: "Archive, search and migrate mail, offline",
		Long: `mailark keeps mail in one deduplicated Maildir archive with a catalog
and a full-text index, imported from IMAP and POP3 servers, mbox files,
Maildir trees and .eml files, and serves it read-only over IMAP.

The archive is a plain Maildir++ tree (readable by Dovecot, mutt, notmuch and
mu as it is) plus catalog.db. Messages are identified by the SHA-256 of their
bytes (line endings normalised to CRLF) and stored once, however many folders
they appear in.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelWarn
			if g.verbose {
				level = slog.LevelInfo
			}
			if g.quiet {
				level = slog.LevelError
			}
			g.log = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.SetOut(g.stdout)
	root.SetErr(g.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.archiveDir, "archive", defaultArchiveDir(), "archive directory (env MAILARK_ARCHIVE)")
	pf.BoolVar(&g.json, "json", false, "print machine-readable JSON on stdout")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only errors (and the final report)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log what is being done")

	root.AddGroup(
		&cobra.Group{ID: "archive", Title: "Archive:"},
		&cobra.Group{ID: "import", Title: "Import:"},
		&cobra.Group{ID: "search", Title: "Search:"},
		&cobra.Group{ID: "export", Title: "Export:"},
		&cobra.Group{ID: "server", Title: "Server:"},
	)
	for _, c := range []*cobra.Command{newInitCommand(g), newVerifyCommand(g), newStatsCommand(g), newDemoCommand(g)} {
		c.GroupID = "archive"
		root.AddCommand(c)
	}
	imp := newImportCommand(g)
	imp.GroupID = "import"
	root.AddCommand(imp)
	for _, c := range []*cobra.Command{newSearchCommand(g), newShowCommand(g)} {
		c.GroupID = "search"
		root.AddCommand(c)
	}
	ri := newReindexCommand(g)
	ri.GroupID = "archive"
	root.AddCommand(ri)
	for _, r := range registry {
		c := r.make(g)
		c.GroupID = r.group
		root.AddCommand(c)
	}
	return root
}

// registry holds commands that register themselves from their own file
// (register in an init function), so that adding a command touches no
// shared file.
var registry []registration

type registration struct {
	group string // archive, import, search, export, server
	make  func(*globalOptions) *cobra.Command
}

func register(group string, mk func(*globalOptions) *cobra.Command) {
	registry = append(registry, registration{group, mk})
}

// withExitStatus appends the exit status table to a command's help.
func withExitStatus(c *cobra.Command) *cobra.Command {
	c.Long = strings.TrimRight(c.Long, "\n") + "\n" + exitStatusHelp
	if c.Args == nil {
		c.Args = cobra.NoArgs
	}
	wrapArgs(c)
	return c
}

// wrapArgs turns cobra's argument errors into usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	validate := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := validate(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// commandPath names the subcommand a failed command line was aimed at.
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == root {
		return ""
	}
	return strings.TrimPrefix(c.CommandPath(), "mailark ")
}

// isTerminal reports whether w is a terminal: progress bars are drawn
// only there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (g *globalOptions) printf(format string, args ...any) {
	fmt.Fprintf(g.stdout, format, args...)
}
