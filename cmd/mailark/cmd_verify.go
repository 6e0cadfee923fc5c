package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"

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
writing and committing) and foreign files, and checks that the search index
has every message. Exit status 1 when anything is wrong. Takes the archive lock, so it waits for nobody and is never fooled
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
			if err := verifyIndex(ctx, a, rep); err != nil {
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

// verifyIndex checks index coverage: every unique message indexed in its
// current version, and exactly one document for each.
func verifyIndex(ctx context.Context, a *archive.Archive, rep *archive.VerifyReport) error {
	st, err := a.Stats(ctx)
	if err != nil {
		return err
	}
	if st.Unique == 0 {
		return nil
	}
	dir := search.Dir(a.Dir())
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		rep.Problems = append(rep.Problems, archive.Problem{Kind: "index", Path: "index", Detail: "no search index (run 'mailark reindex')"})
		return nil
	}
	ix, err := search.Open(dir)
	if err != nil {
		return err
	}
	defer ix.Close()
	if r := ix.Replaced(); r != nil {
		rep.Problems = append(rep.Problems, archive.Problem{Kind: "index", Path: "index",
			Detail: fmt.Sprintf("the search index could not be read and was replaced by an empty one (run 'mailark reindex'): %v", r)})
	}
	n, err := ix.DocCount()
	if err != nil {
		return err
	}
	if st.Indexed != st.Unique {
		rep.Problems = append(rep.Problems, archive.Problem{Kind: "index", Path: "index",
			Detail: fmt.Sprintf("%d of %d messages are not indexed in their current version (the next import or 'mailark reindex' catches up)", st.Unique-st.Indexed, st.Unique)})
	}
	if n != uint64(st.Unique) {
		rep.Problems = append(rep.Problems, archive.Problem{Kind: "index", Path: "index",
			Detail: fmt.Sprintf("the index has %d documents for %d messages (run 'mailark reindex')", n, st.Unique)})
	}
	return nil
}
