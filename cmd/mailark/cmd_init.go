package main

import (
	"github.com/mailark/mailark/archive"
	"github.com/spf13/cobra"
)

func newInitCommand(g *globalOptions) *cobra.Command {
	return withExitStatus(&cobra.Command{
		Use:   "init",
		Short: "Create an empty archive",
		Long: `Create an empty archive in the --archive directory: maildir/ for the
messages and catalog.db for the catalog. Running it on an existing archive
changes nothing. The import commands create the archive themselves when the
directory does not exist yet.`,
		Example: "  mailark --archive ~/mail-archive init",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := archive.Init(cmd.Context(), g.archiveDir); err != nil {
				return err
			}
			if !g.quiet && !g.json {
				g.printf("archive ready in %s\n", g.archiveDir)
			}
			if g.json {
				return printJSON(g.stdout, map[string]string{"archive": g.archiveDir})
			}
			return nil
		},
	})
}
