// Package mbox exports a selection to one mboxrd file for hand-over or
// legal production.
//
// # What is written
//
//	FILE                 the messages, mboxrd (mailark's mbox writer), each
//	                     unique message once, in selection order
//	FILE.messages.tsv    one line per selected entry: ID, source folder,
//	                     UID, internal date, byte offset and length of the
//	                     message in FILE, Message-ID
//	FILE.sha256          SHA-256 of FILE and of FILE.messages.tsv, in the
//	                     format 'sha256sum -c FILE.sha256' checks (run it
//	                     in FILE's directory)
//
// Each message's ID (the SHA-256 of its bytes with line ends made CRLF) is
// in the index: importing FILE back gives the same IDs, with one exception
// the mbox format imposes: a message that does not end with a line break
// gets one, and so another ID (the export warns about each). The From_
// line carries the message's From address (MAILER-DAEMON when it has none)
// and its internal date; the flags are not in the file.
//
// # Atomicity
//
// Each file is written under a temporary name, made durable and renamed;
// FILE.sha256 comes last, so an export that has its manifest is complete.
// An existing FILE is replaced only with Options.Force.
package mbox

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/mailark/mailark/internal/durable"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/internal/progress"
	mboxcodec "github.com/mailark/mailark/mbox"
)

// Options configure Export.
type Options struct {
	Force    bool             // replace an existing FILE
	Logger   *slog.Logger     // nil: discard
	Progress progress.Counter // nil: none
}

// ErrExists is returned when FILE exists and Options.Force is not set.
var ErrExists = errors.New("file exists (use --force to replace it)")

// Suffixes of the files written beside FILE.
const (
	IndexSuffix    = ".messages.tsv"
	ManifestSuffix = ".sha256"
)

// Export writes the selection to path. Messages whose file is damaged or
// unreadable are reported in rep and left out; the error is for the export
// as a whole.
func Export(ctx context.Context, sel *archive.Selection, path string, o Options, rep *exporters.Report) error {
	if o.Progress == nil {
		o.Progress = progress.Nop{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Lstat(path); err == nil && !o.Force {
		return fmt.Errorf("exporting to %s: %w", path, ErrExists)
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	msgs, bytes, _ := sel.Totals()
	o.Progress.AddTotal(msgs, bytes)
	fr := rep.Folder(base)
	for _, f := range sel.Folders() {
		rep.AddSource(fr, f.Account+"/"+f.Name, f.Messages, f.Bytes)
	}

	x := &exporter{o: &o, rep: rep, fr: fr, offsets: map[archive.ID][2]int64{}}
	var err error
	if x.mf, err = create(path); err != nil {
		return err
	}
	defer x.cleanup()
	if x.idx, err = create(path + IndexSuffix); err != nil {
		return err
	}
	x.ib = bufio.NewWriter(x.idx)
	fmt.Fprintf(x.ib, "id\tfolder\tuid\tinternal_date\toffset\tlength\tmessage_id\n")
	x.w = mboxcodec.NewWriter(x.mf)
	if err := sel.Each(ctx, x.add); err != nil {
		return err
	}
	rep.Finish()
	if err := x.ib.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path+IndexSuffix, err)
	}
	// Durable, then renamed: the index, the mbox, and last the manifest.
	for _, f := range []*os.File{x.idx, x.mf} {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", f.Name(), err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", f.Name(), err)
		}
	}
	for _, p := range []string{path + IndexSuffix, path} {
		if err := os.Rename(p+exporters.TmpSuffix, p); err != nil {
			return fmt.Errorf("renaming %s: %w", p, err)
		}
	}
	x.done = true
	if err := durable.Dir(dir); err != nil {
		return err
	}
	var manifest strings.Builder
	for _, p := range []string{path, path + IndexSuffix} {
		sum, err := fileSum(p)
		if err != nil {
			return err
		}
		manifest.WriteString(exporters.ManifestLine(sum, filepath.Base(p)))
	}
	return exporters.WriteFileAtomic(path+ManifestSuffix, []byte(manifest.String()), 0o600)
}

// create opens path's temporary file, removing a stale one.
func create(path string) (*os.File, error) {
	f, err := os.OpenFile(path+exporters.TmpSuffix, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	return f, nil
}

type exporter struct {
	o       *Options
	rep     *exporters.Report
	fr      *exporters.FolderReport
	mf, idx *os.File
	ib      *bufio.Writer
	w       *mboxcodec.Writer
	off     int64
	offsets map[archive.ID][2]int64 // offset and length of each message written
	done    bool
}

// cleanup removes the temporary files of an export that did not finish.
func (x *exporter) cleanup() {
	if x.done {
		return
	}
	for _, f := range []*os.File{x.mf, x.idx} {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
}

func (x *exporter) add(e *archive.SelectedEntry) error {
	x.o.Progress.Add(1, e.Size)
	if at, ok := x.offsets[e.ID]; ok {
		x.rep.Add(x.fr, exporters.Duplicate, e.Size)
		return x.index(e, at)
	}
	src, err := os.Open(e.Path)
	if err != nil {
		x.fail(e, fmt.Errorf("opening %s: %w", e.Path, err))
		return nil
	}
	h := archive.NewHasher()
	last := &lastByte{}
	n, err := x.w.WriteMessage(sender(e.From), e.InternalDate, io.TeeReader(src, io.MultiWriter(h, last)))
	src.Close()
	if err == nil && (h.Sum() != e.ID || h.Size() != e.CRLFSize) {
		err = fmt.Errorf("%w: %s hashes to %s, the catalog says %s", exporters.ErrDamaged, e.Path, h.Sum().Short(), e.ID.Short())
	}
	if err != nil {
		// Drop what was written of this message and go on with a new
		// writer: the file ends where the previous message ended.
		if terr := x.rewind(); terr != nil {
			return terr
		}
		x.fail(e, err)
		return nil
	}
	at := [2]int64{x.off, n}
	x.off += n
	x.offsets[e.ID] = at
	x.rep.Add(x.fr, exporters.Done, e.Size)
	if !last.ok || last.b != '\n' {
		x.rep.Problem(where(e), "the message does not end with a line break: the mbox adds one, so importing it back gives another ID", false)
	}
	return x.index(e, at)
}

func (x *exporter) rewind() error {
	if err := x.mf.Truncate(x.off); err != nil {
		return fmt.Errorf("truncating %s: %w", x.mf.Name(), err)
	}
	if _, err := x.mf.Seek(x.off, io.SeekStart); err != nil {
		return fmt.Errorf("truncating %s: %w", x.mf.Name(), err)
	}
	x.w = mboxcodec.NewWriter(x.mf)
	return nil
}

func (x *exporter) fail(e *archive.SelectedEntry, err error) {
	x.rep.Add(x.fr, exporters.Failed, e.Size)
	x.rep.Problem(where(e), err.Error(), true)
}

func (x *exporter) index(e *archive.SelectedEntry, at [2]int64) error {
	_, err := fmt.Fprintf(x.ib, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", e.ID, tsv(e.Account+"/"+e.Folder), e.UID,
		e.InternalDate.UTC().Format("2006-01-02T15:04:05Z"), at[0], at[1], tsv(e.MessageID))
	if err != nil {
		return fmt.Errorf("writing the index: %w", err)
	}
	return nil
}

// tsv keeps a field on its line and in its column.
func tsv(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func where(e *archive.SelectedEntry) string {
	return fmt.Sprintf("%s/%s uid %d (%s)", e.Account, e.Folder, e.UID, e.ID.Short())
}

// sender is the From_ line's sender: the From header's address.
func sender(from string) string {
	if a, err := mail.ParseAddress(from); err == nil && a.Address != "" {
		return a.Address
	}
	if l, err := mail.ParseAddressList(from); err == nil && len(l) > 0 && l[0].Address != "" {
		return l[0].Address
	}
	return "MAILER-DAEMON"
}

type lastByte struct {
	b  byte
	ok bool
}

func (l *lastByte) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.b, l.ok = p[len(p)-1], true
	}
	return len(p), nil
}

func fileSum(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}
