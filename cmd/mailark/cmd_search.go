package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"
	"github.com/mailark/mailark/search/query"
	"github.com/spf13/cobra"
)

func newSearchCommand(g *globalOptions) *cobra.Command {
	var limit int
	var sortBy string
	c := &cobra.Command{
		Use:   "search QUERY...",
		Short: "Search the archive",
		Long: `Search the archive's full-text index. The words of QUERY are joined with
spaces. Bare words and "phrases" match subject, sender, recipients, body and
attachment names (AND by default); word* matches a prefix. Fields:

  from: to: cc: bcc: subject: body: filename:   words or "phrases"
  folder:NAME  account:NAME  id:MESSAGE-ID
  is:seen|unread|flagged|answered|draft|deleted  has:attachment
  date:2019  date:2019-06  date:2019-06-15  date:2019..2021-06
  after:2020-01-01  before:2021  size:>1M  size:<10k

Combine with OR, NOT or -term, and parentheses. Chinese, Japanese and Korean
text is found without spaces between words (协议, 会議).

Flags come before the query; a query that starts with -term needs "--"
first: mailark search -- -folder:Spam invoice.

Each hit prints the date, sender, subject, folders and a short ID for
'mailark show', newest first unless --sort says otherwise; a count of
matches follows on stderr. For a
page of a phrase search only the newest candidates are checked for the
phrase, so the count may be an upper bound ("50 of at most 53975
matches"); a --limit above it gives the exact count. Search only reads;
while an import or a server holds the index it fails at once with exit
status 4.`,
		Example: `  mailark search from:alice invoice after:2020
  mailark search 'subject:"quarterly report" has:attachment -folder:Trash'
  mailark search --json --limit 5 协议`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			q, err := query.ParseAndCompile(strings.Join(args, " "), query.Options{})
			if err != nil {
				return &usageError{err}
			}
			a, ix, unindexed, err := openForSearch(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			defer ix.Close()
			hits, total, exact, err := ix.SearchTop(ctx, q, limit, sortBy)
			if err != nil {
				return &usageError{err}
			}
			type jsonHit struct {
				ID        string    `json:"id"`
				MessageID string    `json:"message_id"`
				Date      time.Time `json:"date"`
				From      string    `json:"from"`
				Subject   string    `json:"subject"`
				Folders   []string  `json:"folders"`
				Size      int64     `json:"size"`
			}
			ids := make([]archive.ID, len(hits))
			for i, h := range hits {
				ids[i] = h.ID
			}
			infos, err := a.Summaries(ctx, ids)
			if err != nil {
				return err
			}
			out := make([]jsonHit, 0, len(hits))
			for _, h := range hits {
				m, ok := infos[h.ID]
				if !ok {
					continue // indexed, then dropped from the catalog by a rescan
				}
				out = append(out, jsonHit{ID: m.ID.String(), MessageID: m.MessageID, Date: m.Date, From: m.From,
					Subject: m.Subject, Size: m.Size, Folders: m.Folders})
			}
			if g.json {
				return printJSON(g.stdout, out)
			}
			// One write for the whole table: thousands of hits otherwise cost
			// thousands of small writes.
			bw := bufio.NewWriterSize(g.stdout, 64<<10)
			defer bw.Flush()
			tw := tabwriter.NewWriter(bw, 2, 4, 2, ' ', 0)
			for _, j := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Date.Local().Format("2006-01-02"), clip(j.From, 30), clip(j.Subject, 60), strings.Join(j.Folders, ","), j.ID[:12])
			}
			tw.Flush()
			if !g.quiet {
				if exact {
					fmt.Fprintf(g.stderr, "%d of %d matches\n", len(out), total)
				} else {
					// Phrases were checked only as far as the page needed.
					fmt.Fprintf(g.stderr, "%d of at most %d matches\n", len(out), total)
				}
				if unindexed > 0 {
					fmt.Fprintf(g.stderr, "note: %d messages are not indexed yet; the next import or 'mailark reindex' adds them\n", unindexed)
				}
			}
			return nil
		},
	}
	// Flags go before the query, so that "-term" inside it is a negation,
	// not a flag (a query that starts with one needs "--" first).
	c.Flags().SetInterspersed(false)
	c.Flags().IntVar(&limit, "limit", 50, "print at most N hits")
	c.Flags().StringVar(&sortBy, "sort", search.SortDateDesc, "order: -date (newest first), date, or relevance")
	return withExitStatus(c)
}

// openForSearch opens the catalog and the index side by side, each about
// a millisecond of a search that takes a dozen, and counts the messages
// not indexed yet (for a note after the hits) while the index opens.
func openForSearch(ctx context.Context, g *globalOptions) (*archive.Archive, *search.Index, int64, error) {
	type opened struct {
		ix  *search.Index
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		ix, err := openIndexReadOnly(g.archiveDir)
		ch <- opened{ix, err}
	}()
	a, err := openArchiveReadOnly(ctx, g)
	var unindexed int64
	if err == nil && !g.quiet && !g.json { // the note is printed after the table only
		unindexed, _ = a.UnindexedCount(ctx) // only for the note; the search goes on without it
	}
	o := <-ch
	switch {
	case err != nil: // no archive says more than no index
		if o.ix != nil {
			o.ix.Close()
		}
		return nil, nil, 0, err
	case o.err != nil:
		a.Close()
		return nil, nil, 0, o.err
	}
	return a, o.ix, unindexed, nil
}

// clip shortens s to n runes for a table column, with runs of white
// space made one space. It runs for every hit printed, so the common case
// (short, single-spaced) allocates nothing.
func clip(s string, n int) string {
	runes, clean := 0, true
	for i, r := range s {
		if unicode.IsSpace(r) && (r != ' ' || i == 0 || i+1 == len(s) || s[i+1] == ' ') {
			clean = false
			break
		}
		if runes++; runes > n {
			break
		}
	}
	if clean && runes <= n {
		return s
	}
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
