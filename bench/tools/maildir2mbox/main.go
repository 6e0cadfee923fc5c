// Command maildir2mbox writes a gencorpus corpus as one mbox file, for the
// mbox import benchmarks: every file of the manifest, in manifest order
// (duplicates included), with the manifest's sender and internal date on
// the From_ line. It uses the project's own writer (package mbox: mboxrd,
// LF line endings).
//
//	maildir2mbox -manifest DIR/manifest.jsonl -out FILE.mbox
//
// It then reads the file back with the project's reader and hashes every
// message the way the archive does, and writes FILE.mbox.sum: key=value
// lines (files, bytes, unique, unique_bytes, entries) describing what an archive of
// the mbox must hold. The writer turns CRLF into LF, so the bytes an mbox
// import stores are smaller than the corpus files; the identities (the
// SHA-256 of the CRLF form) are the same, which is checked against the
// manifest (ids_match=yes).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/mbox"
)

type entry struct {
	ID           string    `json:"id"`
	Path         string    `json:"path"`
	From         string    `json:"from"`
	InternalDate time.Time `json:"internal_date"`
}

func main() {
	manifest := flag.String("manifest", "", "gencorpus manifest.jsonl (paths are relative to its directory)")
	out := flag.String("out", "", "mbox file to write (replaced)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: maildir2mbox -manifest DIR/manifest.jsonl -out FILE.mbox")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *manifest == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*manifest, *out); err != nil {
		fmt.Fprintln(os.Stderr, "maildir2mbox:", err)
		os.Exit(1)
	}
}

func run(manifest, out string) error {
	ids, err := write(manifest, out)
	if err != nil {
		return err
	}
	return readBack(out, ids)
}

// write copies every manifest file into the mbox and returns the set of
// manifest ids.
func write(manifest, out string) (map[string]bool, error) {
	mf, err := os.Open(manifest)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	w := mbox.NewWriter(f)
	base := filepath.Dir(manifest)
	ids := map[string]bool{}
	sc := bufio.NewScanner(mf)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", manifest, line, err)
		}
		if e.Path == "" {
			return nil, fmt.Errorf("%s:%d: no path", manifest, line)
		}
		ids[e.ID] = true
		src, err := os.Open(filepath.Join(base, filepath.FromSlash(e.Path)))
		if err != nil {
			return nil, err
		}
		_, err = w.WriteMessage(e.From, e.InternalDate, src)
		src.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return ids, os.Rename(tmp, out)
}

// readBack reads the mbox as the importer will and writes out.sum.
func readBack(path string, want map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	r := mbox.NewReader(f, mbox.ReaderOptions{Format: mbox.MboxRD})
	seen := map[archive.ID]bool{}
	var files, uniqueBytes int64
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading back %s: %w", path, err)
		}
		h := archive.NewHasher()
		n, err := io.Copy(h, m.Body)
		if err != nil {
			return fmt.Errorf("reading back %s: %w", path, err)
		}
		files++
		if id := h.Sum(); !seen[id] {
			seen[id] = true
			uniqueBytes += n
		}
	}
	match := len(seen) == len(want)
	for id := range seen {
		if !want[id.String()] {
			match = false
			break
		}
	}
	yes := map[bool]string{true: "yes", false: "no"}[match]
	// An mbox import files every message in one folder (INBOX), so the
	// folder entries are the distinct messages.
	sum := fmt.Sprintf("files=%d\nbytes=%d\nunique=%d\nunique_bytes=%d\nentries=%d\nids_match=%s\n",
		files, st.Size(), len(seen), uniqueBytes, len(seen), yes)
	if err := os.WriteFile(path+".sum", []byte(sum), 0o644); err != nil {
		return err
	}
	fmt.Print(sum)
	if !match {
		return fmt.Errorf("the mbox's message identities differ from the manifest's (%d read back, %d in the manifest)", len(seen), len(want))
	}
	return nil
}
