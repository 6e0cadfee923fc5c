// Command manifestsum summarises a gencorpus manifest.jsonl for the bench
// scripts: how many files and bytes the corpus holds, and how many distinct
// messages (by id, the archive's identity) and bytes an archive of it must
// store at least.
//
//	manifestsum MANIFEST
//
// It prints key=value lines: files, bytes, unique (distinct ids),
// unique_bytes, entries (distinct folder and id pairs: the folder entries a
// Maildir import must end with, since a message already in a folder is not
// filed there twice) and groups (distinct dup_group values).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

type entry struct {
	ID       string `json:"id"`
	Size     int64  `json:"size"`
	Folder   string `json:"folder"`
	DupGroup int    `json:"dup_group"`
}

func main() {
	if len(os.Args) != 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: manifestsum MANIFEST.jsonl")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "manifestsum:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var files, bytes, uniqueBytes int64
	ids := map[string]bool{}
	groups := map[int]bool{}
	entries := map[[2]string]bool{}
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if e.ID == "" {
			return fmt.Errorf("%s:%d: no id", path, line)
		}
		files++
		bytes += e.Size
		groups[e.DupGroup] = true
		entries[[2]string{e.Folder, e.ID}] = true
		if !ids[e.ID] {
			ids[e.ID] = true
			uniqueBytes += e.Size
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Printf("files=%d\nbytes=%d\nunique=%d\nunique_bytes=%d\nentries=%d\ngroups=%d\n",
		files, bytes, len(ids), uniqueBytes, len(entries), len(groups))
	return nil
}
