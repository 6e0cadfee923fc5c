package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newStatsCommand(g *globalOptions) *cobra.Command {
	var htmlFile string
	c := &cobra.Command{
		Use:   "stats",
		Short: "Count messages, bytes and dedup savings per account, folder and year",
		Long: `Print what the archive holds: messages (folder entries, what a mail
client counts), unique messages (distinct bytes), bytes received vs bytes
stored (what deduplication saved), near-duplicates (same Message-ID, other
bytes; all kept), and counts per account, folder and year. Reads the catalog
only, so it works while an import runs.`,
		Example: "  mailark stats\n  mailark stats --json\n  mailark stats --html report.html",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := openArchiveReadOnly(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			s, err := a.Stats(ctx)
			if err != nil {
				return err
			}
			// The index count is best effort: a writer may hold the index.
			var docs *uint64
			if ix, err := search.OpenReadOnly(search.Dir(a.Dir())); err == nil {
				if n, err := ix.DocCount(); err == nil {
					docs = &n
				}
				ix.Close()
			}
			if htmlFile != "" {
				return writeReportFile(ctx, a, s, htmlFile)
			}
			if g.json {
				return printJSON(g.stdout, struct {
					*archive.Stats
					IndexDocuments *uint64 `json:"index_documents"`
				}{s, docs})
			}
			w := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(w, "archive\t%s\n", a.Dir())
			fmt.Fprintf(w, "messages\t%d\n", s.Messages)
			fmt.Fprintf(w, "unique messages\t%d\n", s.Unique)
			fmt.Fprintf(w, "near-duplicates\t%d\n", s.NearDups)
			fmt.Fprintf(w, "bytes received\t%s\n", humanBytes(s.BytesReceived))
			fmt.Fprintf(w, "bytes stored\t%s (dedup saved %s)\n", humanBytes(s.BytesStored), humanBytes(s.Saved()))
			cov := fmt.Sprintf("%d of %d messages indexed", s.Indexed, s.Unique)
			if docs != nil {
				cov += fmt.Sprintf(", %d documents", *docs)
			} else {
				cov += " (index in use or missing: document count unknown)"
			}
			fmt.Fprintf(w, "search index\t%s\n", cov)
			w.Flush()
			fmt.Fprintln(g.stdout)
			w = tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(w, "account\tfolder\tmessages\tbytes\t\n")
			for _, ac := range s.Accounts {
				for _, f := range ac.Folders {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\t\n", ac.Name, f.Name, f.Messages, humanBytes(f.Bytes))
				}
				fmt.Fprintf(w, "%s\t(all)\t%d\t%s\t\n", ac.Name, ac.Messages, humanBytes(ac.Bytes))
			}
			w.Flush()
			if len(s.Years) > 0 {
				fmt.Fprintln(g.stdout)
				w = tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintf(w, "year\tmessages\tbytes\t\n")
				for _, y := range s.Years {
					fmt.Fprintf(w, "%d\t%d\t%s\t\n", y.Year, y.Messages, humanBytes(y.Bytes))
				}
				w.Flush()
			}
			return nil
		},
	}
	c.Flags().StringVar(&htmlFile, "html", "", "write a self-contained HTML report with charts (messages per month, top senders, sizes, folders) to this file")
	return withExitStatus(c)
}

// writeReportFile writes the HTML report atomically.
func writeReportFile(ctx context.Context, a *archive.Archive, s *archive.Stats, path string) error {
	o, err := a.Overview(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mailark-report-*")
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeHTMLReport(tmp, a.Dir(), s, o); err != nil {
		tmp.Close()
		return fmt.Errorf("writing report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
