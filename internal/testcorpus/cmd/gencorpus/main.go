// Command gencorpus writes a deterministic test corpus: a Maildir++ or fs
// Maildir tree in DIR/maildir (or .eml files in DIR/eml) and DIR/manifest.jsonl.
//
//	gencorpus -count N -seed S -out DIR [-layout maildir++|fs|eml] [-odd] [-odd-kinds K,K] [-big BYTES] [-force]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mailark/mailark/internal/testcorpus"
)

func main() {
	count := flag.Int("count", 1000, "total stored messages, duplicates included")
	seed := flag.Int64("seed", 1, "seed")
	out := flag.String("out", "", "output directory (required)")
	layout := flag.String("layout", "maildir++", "maildir++, fs or eml")
	odd := flag.Bool("odd", false, "include one message of each odd kind")
	oddKinds := flag.String("odd-kinds", "", "comma-separated odd kinds to include (instead of all): "+strings.Join(testcorpus.OddKinds(), ","))
	big := flag.Int64("big", 0, "add one message of about this many bytes (e.g. 31457280) to Archive")
	force := flag.Bool("force", false, "replace an existing tree and manifest in DIR")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: gencorpus -count N -seed S -out DIR [-layout maildir++|fs|eml] [-odd] [-odd-kinds K,K] [-big BYTES] [-force]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	opts := testcorpus.Options{Seed: *seed, Count: *count, Odd: *odd, BigMessage: *big}
	if *oddKinds != "" {
		opts.OddKinds = strings.Split(*oddKinds, ",")
	}
	if err := run(opts, *out, *layout, *force); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

func run(opts testcorpus.Options, out, layout string, force bool) error {
	t0 := time.Now()
	sub := "maildir"
	if layout == "eml" {
		sub = "eml"
	}
	tree := filepath.Join(out, sub)
	manifest := filepath.Join(out, "manifest.jsonl")
	for _, p := range []string{tree, manifest} {
		if _, err := os.Stat(p); err == nil {
			if !force {
				return fmt.Errorf("%s exists (use -force to replace it)", p)
			}
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	var sink testcorpus.Sink
	var addFolder func(string) (string, error)
	if layout == "eml" {
		w, err := testcorpus.NewEMLWriter(tree)
		if err != nil {
			return err
		}
		sink, addFolder = w, w.AddFolder
	} else {
		l, err := testcorpus.ParseLayout(layout)
		if err != nil {
			return err
		}
		w, err := testcorpus.NewMaildirWriter(tree, l)
		if err != nil {
			return err
		}
		sink, addFolder = w, w.AddFolder
	}
	folders := opts.Folders
	if folders == nil {
		folders = testcorpus.DefaultFolders
	}
	for _, f := range folders { // empty folders exist too, as on a real server
		if _, err := addFolder(f); err != nil {
			return err
		}
	}
	mf, err := os.Create(manifest)
	if err != nil {
		return err
	}
	defer mf.Close()
	bw := bufio.NewWriterSize(mf, 1<<20)

	perFolder := map[string]int{}
	groups := map[int]bool{}
	var n, bytes int
	var sizes []int
	err = testcorpus.Generate(opts, func(m *testcorpus.Message) error {
		rel, err := sink.Write(m)
		if err != nil {
			return err
		}
		e := testcorpus.NewManifestEntry(m)
		e.Path = filepath.ToSlash(filepath.Join(sub, rel))
		if err := e.Encode(bw); err != nil {
			return err
		}
		n++
		bytes += len(m.Raw)
		sizes = append(sizes, len(m.Raw))
		perFolder[m.Folder]++
		groups[m.DupGroup] = true
		return nil
	})
	if err != nil {
		return err
	}
	if err := sink.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := mf.Close(); err != nil {
		return err
	}
	dt := time.Since(t0)
	slices.Sort(sizes)
	pct := func(p float64) int {
		if len(sizes) == 0 {
			return 0
		}
		return sizes[min(len(sizes)-1, int(p*float64(len(sizes))))]
	}
	fmt.Printf("gencorpus: %d messages (%d distinct), %.1f MB in %.2fs -> %s\n", n, len(groups), float64(bytes)/1e6, dt.Seconds(), tree)
	fmt.Printf("gencorpus: size median %d B, p90 %d B, p99 %d B, max %d B\n", pct(0.5), pct(0.9), pct(0.99), pct(1))
	var parts []string
	for _, f := range folders {
		parts = append(parts, fmt.Sprintf("%s=%d", f, perFolder[f]))
	}
	fmt.Printf("gencorpus: %s\n", strings.Join(parts, ", "))
	return nil
}
