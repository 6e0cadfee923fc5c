package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/search"
)

// openArchive opens the archive for writing, creating it first when the
// directory does not exist (or is empty), so that a first import just works.
func openArchive(ctx context.Context, g *globalOptions) (*archive.Archive, error) {
	if _, err := os.Stat(filepath.Join(g.archiveDir, "catalog.db")); errors.Is(err, os.ErrNotExist) {
		if empty, _ := dirEmptyOrMissing(g.archiveDir); empty {
			if err := archive.Init(ctx, g.archiveDir); err != nil {
				return nil, err
			}
			g.log.Info("created a new archive", "dir", g.archiveDir)
		}
	}
	return archive.Open(ctx, g.archiveDir, archive.Options{Logger: g.log})
}

// openArchiveReadOnly opens without the lock, for commands that only read.
func openArchiveReadOnly(ctx context.Context, g *globalOptions) (*archive.Archive, error) {
	return archive.Open(ctx, g.archiveDir, archive.Options{ReadOnly: true, Logger: g.log})
}

func dirEmptyOrMissing(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// openIndex opens the search index for writing (see search.Open) and
// warns when it had to replace an unreadable one: everything is then
// indexed again.
// openIndexReadOnly opens the index of the archive in archiveDir for a
// reader; a writer holding it is exit status 4, as for the archive.
func openIndexReadOnly(archiveDir string) (*search.Index, error) {
	ix, err := search.OpenReadOnly(search.Dir(archiveDir))
	if errors.Is(err, search.ErrBusy) {
		return nil, &exitError{code: exitLocked, err: err}
	}
	return ix, err
}

func openIndex(g *globalOptions, dir string) (*search.Index, error) {
	ix, err := search.Open(dir)
	if err == nil && ix.Replaced() != nil {
		g.log.Warn("the search index could not be read and was replaced by an empty one; every message is indexed again", "err", ix.Replaced())
	}
	return ix, err
}
