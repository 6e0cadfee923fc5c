package main

import (
	"context"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	emlexp "github.com/mailark/mailark/exporters/eml"
	mboxexp "github.com/mailark/mailark/exporters/mbox"
	"github.com/mailark/mailark/internal/progress"
	"github.com/spf13/cobra"
)

func newExportMboxCommand(g *globalOptions) *cobra.Command {
	var sf selectFlags
	var force bool
	c := &cobra.Command{
		Use:   "mbox FILE",
		Short: "Write messages to one mbox file with a SHA-256 manifest",
		Long: `Write the selected messages to FILE as mboxrd (every ">*From " line quoted,
line ends LF), each distinct message once however many folders select it,
for hand-over or legal production. Beside it:

  FILE.messages.tsv  one line per selected folder entry: message ID, folder,
                     UID, internal date, offset and length in FILE, Message-ID
  FILE.sha256        the SHA-256 of FILE and FILE.messages.tsv; check with
                     'sha256sum -c FILE.sha256' in FILE's directory

Each message's ID (SHA-256 of its bytes with line ends as CRLF) is what
'mailark import mbox' computes when FILE is imported back; the only exception
is a message without a final line break, which mbox adds (reported as a
warning). The From_ line has the message's From address and its internal
date; flags are not kept (use 'export eml' or 'export imap' for those).

Files are written under temporary names, made durable and renamed; the
manifest comes last, so an export that has one is complete. An existing FILE
is replaced only with --force.
` + selectionHelp,
		Example: `  mailark export mbox bob-2020.mbox --query 'from:bob date:2020'
  sha256sum -c bob-2020.mbox.sha256`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return sf.validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := absPath(args[0])
			return exportFrame(cmd.Context(), g, "export mbox", path, &sf, false, "written",
				func(ctx context.Context, a *archive.Archive, sel *archive.Selection, run int64, prog progress.Counter, rep *exporters.Report) error {
					return mboxexp.Export(ctx, sel, path, mboxexp.Options{Force: force, Logger: g.log, Progress: prog}, rep)
				})
		},
	}
	sf.addFlags(c)
	c.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return withExitStatus(c)
}

func newExportEMLCommand(g *globalOptions) *cobra.Command {
	var sf selectFlags
	c := &cobra.Command{
		Use:   "eml DIR",
		Short: "Write messages as .eml files, folders as directories, with a SHA-256 manifest",
		Long: `Write each selected folder entry as one .eml file below DIR (created if
missing), with the archived bytes unchanged:

  DIR/INBOX/20190304T101500Z-<id>.eml
  DIR/Archive/2019/20190101T000000Z-<id>.eml
  DIR/MANIFEST.sha256

A file is named by its internal date (UTC) and message ID, and its mtime is
the internal date. Folder levels are directories, the layout 'mailark import
eml DIR' reads back into the same folders ("." and ".." levels become %2E and
%2E%2E). When the selection spans several accounts, each gets its own top
directory (DIR/<account>/INBOX/...): import each with its --account. A
message in two folders is written to both. Flags are not kept.

MANIFEST.sha256 lists the SHA-256 of every file written, for 'sha256sum -c
MANIFEST.sha256' in DIR. Files are written in batches under temporary names,
made durable together and renamed; the manifest comes last, so an export
that has one is complete. Running the export again into the same DIR
rewrites its files and its manifest.
` + selectionHelp,
		Example: `  mailark export eml ~/handover --account work --folder 'Projects/*'
  (cd ~/handover && sha256sum -c MANIFEST.sha256)`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			return sf.validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := absPath(args[0])
			return exportFrame(cmd.Context(), g, "export eml", dir, &sf, false, "written",
				func(ctx context.Context, a *archive.Archive, sel *archive.Selection, run int64, prog progress.Counter, rep *exporters.Report) error {
					return emlexp.Export(ctx, sel, dir, emlexp.Options{Logger: g.log, Progress: prog}, rep)
				})
		},
	}
	sf.addFlags(c)
	return withExitStatus(c)
}
