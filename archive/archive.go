package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Archive is an open archive directory: the Maildir tree, the catalog and,
// for a writable archive, the exclusive lock.
type Archive struct {
	dir  string
	db   *sql.DB // one connection: the writer (nil when read-only)
	rdb  *sql.DB // readers
	lock *lockFile
	log  *slog.Logger
}

// Options configure Open.
type Options struct {
	// ReadOnly opens without the lock and without write access to the
	// catalog: for stats and search while another process imports.
	ReadOnly bool
	// Logger receives warnings (e.g. a file system without hard links);
	// nil discards them.
	Logger *slog.Logger
}

// ErrNotArchive is returned by Open for a directory Init never made.
var ErrNotArchive = errors.New("not a mailark archive")

const (
	catalogName = "catalog.db"
	maildirName = "maildir"
	lockName    = ".lock"
)

// Init creates an archive in dir (which may exist and be empty, or already
// be an archive: Init is idempotent).
func Init(ctx context.Context, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, maildirName), 0o700); err != nil {
		return fmt.Errorf("creating archive %s: %w", dir, err)
	}
	a, err := open(ctx, dir, Options{}, true)
	if err != nil {
		return err
	}
	return a.Close()
}

// Open opens an existing archive. Unless opts.ReadOnly, it takes the
// archive's exclusive lock and fails at once with a *LockedError when
// another process holds it.
func Open(ctx context.Context, dir string, opts Options) (*Archive, error) {
	return open(ctx, dir, opts, false)
}

func open(ctx context.Context, dir string, opts Options, create bool) (*Archive, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	catalog := filepath.Join(dir, catalogName)
	if !create {
		if _, err := os.Stat(catalog); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s has no %s (run 'mailark init' first)", ErrNotArchive, dir, catalogName)
			}
			return nil, fmt.Errorf("opening archive: %w", err)
		}
	}
	a := &Archive{dir: dir, log: log}
	if !opts.ReadOnly {
		if a.lock, err = acquireLock(filepath.Join(dir, lockName)); err != nil {
			return nil, err
		}
		if a.db, err = openCatalog(ctx, catalog, false); err != nil {
			a.lock.release()
			return nil, err
		}
	}
	if a.rdb, err = openCatalog(ctx, catalog, true); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Dir returns the archive's absolute directory.
func (a *Archive) Dir() string { return a.dir }

// MaildirRoot returns the directory that holds one Maildir++ tree per account.
func (a *Archive) MaildirRoot() string { return filepath.Join(a.dir, maildirName) }

// ReadOnly reports whether the archive was opened without the lock.
func (a *Archive) ReadOnly() bool { return a.db == nil }

// DB gives read access to the catalog for packages that derive data from
// it (search). Writes go through Archive methods only.
func (a *Archive) DB() *sql.DB { return a.rdb }

// Close releases the catalog and the lock.
func (a *Archive) Close() error {
	var errs []error
	if a.rdb != nil {
		errs = append(errs, a.rdb.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	errs = append(errs, a.lock.release())
	return errors.Join(errs...)
}
