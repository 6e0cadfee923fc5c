package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/config"
	"github.com/spf13/cobra"
)

func newInitCommand(g *globalOptions) *cobra.Command {
	return withExitStatus(&cobra.Command{
		Use:   "init",
		Short: "Create an empty archive",
		Long: `Create an empty archive in the --archive directory: maildir/ for the
messages and catalog.db for the catalog. Running it on an existing archive
changes nothing. It also writes a commented example mailark.toml (accounts
and export targets; see the file) unless one exists. The import commands
create the archive themselves when the directory does not exist yet.`,
		Example: "  mailark --archive ~/mail-archive init",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := archive.Init(cmd.Context(), g.archiveDir); err != nil {
				return err
			}
			// A commented example config, unless there is one already.
			cfg := filepath.Join(g.archiveDir, config.FileName)
			f, err := os.OpenFile(cfg, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				_, err = f.WriteString(config.Example)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("writing %s: %w", cfg, err)
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
