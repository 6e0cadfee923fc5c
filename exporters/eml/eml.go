// Package eml exports a selection as one .eml file per folder entry, with
// folders as directories: the layout 'mailark import eml' reads back as
// folders.
//
// # Layout
//
//	DIR/INBOX/20190304T101500Z-<id>.eml
//	DIR/Archive/2019/20190101T000000Z-<id>.eml
//	DIR/MANIFEST.sha256
//
// A file holds the message's bytes exactly as archived, and is named by
// its internal date (UTC) and its full ID; its mtime is the internal date
// too (which 'import eml' uses when a message has no Date header). A
// folder name's levels become directories (UTF-8 names); a level named "."
// or ".." becomes "%2E" or "%2E%2E". When the selection spans several
// accounts, each account is one more directory level on top
// (DIR/<account>/INBOX/...): import each account's directory with its own
// --account. A message in two folders is written into both.
//
// MANIFEST.sha256 lists the SHA-256 of every file this export wrote, in
// the format 'sha256sum -c MANIFEST.sha256' checks (run in DIR). Note that
// a file's SHA-256 is its ID only if its line endings are CRLF.
//
// # Atomicity
//
// Files are written under temporary names in batches; one syncfs(2) per
// batch makes them durable (fsync per file where there is no syncfs), then
// they are renamed and their directories synced. The manifest comes last:
// an export that has it is complete. A rerun into the same DIR replaces the
// files it writes again and the manifest.
package eml

import (
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/mailark/mailark/internal/durable"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/internal/progress"
)

// Options configure Export.
type Options struct {
	Logger   *slog.Logger     // nil: discard
	Progress progress.Counter // nil: none
	// BatchFiles files (default 256) or BatchBytes bytes (default 64 MiB)
	// are made durable together.
	BatchFiles int
	BatchBytes int64
}

// ManifestName is the manifest's file name in DIR.
const ManifestName = "MANIFEST.sha256"

// Export writes the selection below dir (created if missing). Messages
// whose file is damaged or unreadable are reported in rep and left out;
// the error is for the export as a whole.
func Export(ctx context.Context, sel *archive.Selection, dir string, o Options, rep *exporters.Report) error {
	if o.Progress == nil {
		o.Progress = progress.Nop{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BatchFiles <= 0 {
		o.BatchFiles = 256
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 64 << 20
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	msgs, bytes, _ := sel.Totals()
	o.Progress.AddTotal(msgs, bytes)
	x := &exporter{o: &o, rep: rep, dir: dir, perAccount: accounts(sel) > 1, dirs: map[string]bool{}}
	for _, f := range sel.Folders() {
		rel, err := x.folderDir(f.Account, f.Name)
		if err != nil {
			return err
		}
		rep.AddSource(rep.Folder(rel), f.Account+"/"+f.Name, f.Messages, f.Bytes)
	}
	defer x.cleanup()
	err := sel.Each(ctx, x.add)
	if err == nil {
		err = x.commit()
	}
	rep.Finish()
	if err != nil {
		return err
	}
	slices.SortFunc(x.manifest, func(a, b entry) int { return strings.Compare(a.rel, b.rel) })
	var m strings.Builder
	for _, e := range x.manifest {
		m.WriteString(exporters.ManifestLine(e.sum, e.rel))
	}
	return exporters.WriteFileAtomic(filepath.Join(dir, ManifestName), []byte(m.String()), 0o600)
}

func accounts(sel *archive.Selection) int {
	seen := map[string]bool{}
	for _, f := range sel.Folders() {
		seen[f.Account] = true
	}
	return len(seen)
}

type entry struct {
	rel string
	sum [32]byte
}

type pendingFile struct {
	tmp, final string
	entry
}

type exporter struct {
	o          *Options
	rep        *exporters.Report
	dir        string
	perAccount bool
	dirs       map[string]bool // directories created (relative)
	batch      []pendingFile
	batchBytes int64
	manifest   []entry
	h          hash.Hash
}

// folderDir is the directory of a folder, relative to DIR, '/'-separated.
func (x *exporter) folderDir(account, folder string) (string, error) {
	parts := strings.Split(folder, "/")
	for i, p := range parts {
		switch p {
		case ".":
			parts[i] = "%2E"
		case "..":
			parts[i] = "%2E%2E"
		case "":
			return "", fmt.Errorf("folder %q has an empty level", folder)
		}
	}
	if x.perAccount {
		parts = append([]string{account}, parts...)
	}
	return strings.Join(parts, "/"), nil
}

// FileName is an entry's file name: internal date (UTC) and ID.
func FileName(e *archive.SelectedEntry) string {
	return e.InternalDate.UTC().Format("20060102T150405Z") + "-" + e.ID.String() + ".eml"
}

func (x *exporter) add(e *archive.SelectedEntry) error {
	x.o.Progress.Add(1, e.Size)
	rel, err := x.folderDir(e.Account, e.Folder)
	if err != nil {
		return err
	}
	fr := x.rep.Folder(rel)
	if !x.dirs[rel] {
		if err := os.MkdirAll(filepath.Join(x.dir, filepath.FromSlash(rel)), 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", rel, err)
		}
		x.dirs[rel] = true
	}
	relFile := rel + "/" + FileName(e)
	final := filepath.Join(x.dir, filepath.FromSlash(relFile))
	tmp := final + exporters.TmpSuffix
	sum, err := x.copy(e, tmp)
	if err != nil {
		os.Remove(tmp)
		x.rep.Add(fr, exporters.Failed, e.Size)
		x.rep.Problem(fmt.Sprintf("%s/%s uid %d (%s)", e.Account, e.Folder, e.UID, e.ID.Short()), err.Error(), true)
		return nil
	}
	x.rep.Add(fr, exporters.Done, e.Size)
	x.batch = append(x.batch, pendingFile{tmp: tmp, final: final, entry: entry{rel: relFile, sum: sum}})
	x.batchBytes += e.Size
	if len(x.batch) >= x.o.BatchFiles || x.batchBytes >= x.o.BatchBytes {
		return x.commit()
	}
	return nil
}

// copy writes e's bytes to tmp, checking them against e's ID, and returns
// the file's SHA-256.
func (x *exporter) copy(e *archive.SelectedEntry, tmp string) ([32]byte, error) {
	var sum [32]byte
	src, err := os.Open(e.Path)
	if err != nil {
		return sum, fmt.Errorf("opening %s: %w", e.Path, err)
	}
	defer src.Close()
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return sum, fmt.Errorf("creating %s: %w", tmp, err)
	}
	if x.h == nil {
		x.h = sha256.New()
	}
	x.h.Reset()
	id := archive.NewHasher()
	n, err := io.Copy(io.MultiWriter(dst, x.h, id), src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return sum, fmt.Errorf("writing %s: %w", tmp, err)
	}
	if id.Sum() != e.ID || n != e.Size {
		return sum, fmt.Errorf("%w: %s hashes to %s, the catalog says %s", exporters.ErrDamaged, e.Path, id.Sum().Short(), e.ID.Short())
	}
	if err := os.Chtimes(tmp, e.InternalDate, e.InternalDate); err != nil {
		return sum, fmt.Errorf("dating %s: %w", tmp, err)
	}
	x.h.Sum(sum[:0])
	return sum, nil
}

// commit makes the batch durable and gives the files their names.
func (x *exporter) commit() error {
	if len(x.batch) == 0 {
		return nil
	}
	tmps := make([]string, len(x.batch))
	for i, p := range x.batch {
		tmps[i] = p.tmp
	}
	if err := durable.Files(tmps); err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, p := range x.batch {
		if err := os.Rename(p.tmp, p.final); err != nil {
			return fmt.Errorf("renaming %s: %w", p.final, err)
		}
		dirs[filepath.Dir(p.final)] = true
		x.manifest = append(x.manifest, p.entry)
	}
	for d := range dirs {
		if err := durable.Dir(d); err != nil {
			return err
		}
	}
	x.batch, x.batchBytes = x.batch[:0], 0
	return nil
}

// cleanup removes the temporary files of a batch that was not committed.
func (x *exporter) cleanup() {
	for _, p := range x.batch {
		os.Remove(p.tmp)
	}
}
