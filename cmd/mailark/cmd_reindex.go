package main

import (
	"fmt"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/search"
	"github.com/spf13/cobra"
)

func newReindexCommand(g *globalOptions) *cobra.Command {
	return withExitStatus(&cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the catalog's folder entries and the search index from the Maildir",
		Long: `Rebuild what is derived from the message files. First the catalog is
brought in line with the Maildir: message files it does not know (left by an
interrupted run, or copied in with mailark's names) are checked against their
SHA-256 and adopted; entries whose file is gone are dropped. Then the search
index is deleted and built again from every message.`,
		Example: "  mailark reindex",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := openArchive(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			rr, err := a.Rescan(ctx)
			if err != nil {
				return err
			}
			for _, p := range rr.Problems {
				fmt.Fprintf(g.stderr, "%s %s: %s\n", p.Kind, p.Path, p.Detail)
			}
			// Reset first: a reindex killed after removing the index must
			// not leave the catalog claiming messages are indexed.
			if err := a.ResetIndexed(ctx); err != nil {
				return err
			}
			if err := search.Remove(search.Dir(a.Dir())); err != nil {
				return err
			}
			st, err := a.Stats(ctx)
			if err != nil {
				return err
			}
			rep := &importers.Report{}
			prog := newProgress(g, "indexing")
			prog.AddTotal(st.Unique, st.BytesStored)
			ix, err := openIndex(g, search.Dir(a.Dir()))
			if err != nil {
				return err
			}
			n, err := search.Sync(ctx, a, ix, prog, func(id archive.ID, err error) {
				rep.Problems = append(rep.Problems, archive.RunProblem{Where: "index:" + id.String(), Error: err.Error()})
			})
			prog.Finish()
			if cerr := ix.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Fprintf(g.stderr, "not indexed: %s: %s\n", p.Where, p.Error)
			}
			if g.json {
				return printJSON(g.stdout, map[string]any{"files": rr.Files, "adopted": rr.Adopted, "dropped": rr.Dropped, "indexed": n, "problems": len(rr.Problems) + len(rep.Problems)})
			}
			fmt.Fprintf(g.stdout, "reindex: %d files, %d adopted, %d entries dropped; %d messages indexed\n", rr.Files, rr.Adopted, rr.Dropped, n)
			if len(rr.Problems)+len(rep.Problems) > 0 {
				return errPartial
			}
			return nil
		},
	})
}
