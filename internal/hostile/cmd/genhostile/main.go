// Command genhostile writes the small cases of the hostile input corpus
// and their README into testdata/hostile (or -out DIR). Run it from the
// repository root after changing internal/hostile.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailark/mailark/internal/hostile"
)

func main() {
	out := flag.String("out", filepath.Join("testdata", "hostile"), "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "genhostile:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cases, err := hostile.Write(out, false)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "README"), []byte(hostile.README()), 0o644); err != nil {
		return fmt.Errorf("writing README: %w", err)
	}
	fmt.Printf("wrote %d cases to %s\n", len(cases), out)
	return nil
}
