package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newVerifyCommand(g *globalOptions) *cobra.Command {
	return withExitStatus(&cobra.Command{
		Use:   "verify",
		Short: "Re-hash every message file and check it against the catalog",
		Long: `Re-hash every message file and check it against its name (which carries
its SHA-256) and the catalog. Reports corrupt files (bytes that do not hash
to their name), missing files (catalog entries with no file), orphaned files
(message files the catalog does not know, e.g. left by a run killed between
writing and committing) and foreign files. Exit status 1 when anything is
wrong. Takes the archive lock, so it waits for nobody and is never fooled
by an import in progress.`,
		Example: "  mailark verify\n  mailark verify --json | jq .problems",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := openArchive(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			prog := newProgress(g, "verifying")
			var last struct {
				n int64
				b int64
			}
			rep, err := a.Verify(ctx, func(files int, bytes int64) {
				prog.Add(int64(files)-last.n, bytes-last.b)
				last.n, last.b = int64(files), bytes
			})
			prog.Finish()
			if err != nil {
				return err
			}
			if g.json {
				if err := printJSON(g.stdout, rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintf(g.stdout, "%-9s %s: %s\n", p.Kind, p.Path, p.Detail)
				}
				fmt.Fprintf(g.stdout, "verify: %d files (%d distinct, %s re-hashed), %d catalog entries: ",
					rep.Files, rep.Hashed, humanBytes(rep.Bytes), rep.Entries)
				if rep.OK() {
					fmt.Fprintln(g.stdout, "no problems")
				} else {
					fmt.Fprintf(g.stdout, "%d problems\n", len(rep.Problems))
				}
			}
			if !rep.OK() {
				return &exitError{code: exitFailure, err: errSilent}
			}
			return nil
		},
	})
}
