package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search/extract"
	"github.com/spf13/cobra"
)

func newShowCommand(g *globalOptions) *cobra.Command {
	var raw, headers, text bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Print a message",
		Long: `Print one message, named by its ID (the SHA-256 that 'search' prints) or a
unique prefix of it of at least 4 hex digits. By default: its decoded
header fields, the folders it is in, its text and attachments. --raw prints
the bytes exactly as archived, --headers the raw header, --text only the
decoded text.`,
		Example: "  mailark show 1a2b3c4d5e6f\n  mailark show --raw 1a2b3c4d5e6f > message.eml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, b := range []bool{raw, headers, text} {
				if b {
					n++
				}
			}
			if n > 1 {
				return &usageError{errors.New("--raw, --headers and --text exclude each other")}
			}
			ctx := cmd.Context()
			a, err := openArchiveReadOnly(ctx, g)
			if err != nil {
				return err
			}
			defer a.Close()
			m, err := a.LookupPrefix(ctx, args[0])
			if err != nil {
				return err
			}
			f, err := os.Open(m.Path)
			if err != nil {
				return fmt.Errorf("reading message %s: %w", m.ID.Short(), err)
			}
			defer f.Close()
			switch {
			case raw:
				_, err = io.Copy(g.stdout, f)
				return err
			case headers:
				return copyHeader(g, f)
			}
			d, err := extract.Extract(f, nil)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, struct {
					ID      string         `json:"id"`
					Copies  []archive.Copy `json:"copies"`
					Message *extract.Doc   `json:"message"`
				}{m.ID.String(), m.Copies, d})
			}
			if !text {
				printDocHeader(g, m, d)
			}
			fmt.Fprintln(g.stdout, strings.TrimRight(d.Body, "\n"))
			return nil
		},
	}
	c.Flags().BoolVar(&raw, "raw", false, "print the message bytes as archived")
	c.Flags().BoolVar(&headers, "headers", false, "print the raw header")
	c.Flags().BoolVar(&text, "text", false, "print only the decoded text")
	return withExitStatus(c)
}

func copyHeader(g *globalOptions, r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if strings.TrimRight(string(line), "\r\n") == "" {
				return nil
			}
			g.stdout.Write(line)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func printDocHeader(g *globalOptions, m *archive.MessageInfo, d *extract.Doc) {
	addrs := func(list []extract.Address) string {
		var s []string
		for _, a := range list {
			if a.Name != "" {
				s = append(s, fmt.Sprintf("%s <%s>", a.Name, a.Addr))
			} else {
				s = append(s, a.Addr)
			}
		}
		return strings.Join(s, ", ")
	}
	w := g.stdout
	fmt.Fprintf(w, "ID:      %s\n", m.ID)
	for _, x := range []struct{ k, v string }{{"From", addrs(d.From)}, {"To", addrs(d.To)}, {"Cc", addrs(d.Cc)}, {"Subject", d.Subject}, {"Message-ID", d.MessageID}} {
		if x.v != "" {
			fmt.Fprintf(w, "%-8s %s\n", x.k+":", x.v)
		}
	}
	if !d.Date.IsZero() {
		fmt.Fprintf(w, "Date:    %s\n", d.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	for _, c := range m.Copies {
		fmt.Fprintf(w, "Folder:  %s/%s (uid %d, %s) %s\n", c.Account, c.Folder, c.UID, c.InternalDate.UTC().Format("2006-01-02 15:04:05Z"), strings.Join(c.Flags, " "))
	}
	for _, at := range d.Attachments {
		fmt.Fprintf(w, "Attach:  %s (%s, %s)\n", at.Filename, at.ContentType, humanBytes(at.Size))
	}
	fmt.Fprintln(w)
}
