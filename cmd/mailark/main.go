// Command mailark archives, searches and migrates mail. This package only
// parses flags, wires the packages together and renders output; see
// DESIGN.md for the architecture.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/mailark/mailark/archive"
)

// Exit codes: part of the CLI contract (README, every command's help).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitPartial     = 3
	exitLocked      = 4
	exitInterrupted = 130
)

// exitError carries an exit code chosen by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// errPartial is returned by a command that finished but could not handle
// some messages; the report has already said which.
var errPartial = &exitError{code: exitPartial}

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func main() {
	// Keep the heap small by default: an archiver runs beside other work,
	// and Bleve's indexing otherwise lets garbage grow to several times the
	// live heap. GOMEMLIMIT overrides.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(96 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes one command line and maps its outcome to an exit code in
// one place.
func run(ctx context.Context, args []string) int {
	g := &globalOptions{stdout: os.Stdout, stderr: os.Stderr}
	root := newRootCommand(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(ctx, err)
	if err != nil && code != exitPartial && !errors.Is(err, errSilent) {
		fmt.Fprintf(g.stderr, "mailark: %v\n", err)
		if code == exitUsage {
			fmt.Fprintf(g.stderr, "Run 'mailark %s --help' for usage.\n", commandPath(root, args))
		}
	}
	return code
}

// errSilent marks failures whose details the command has already printed.
var errSilent = errors.New("failed")

func exitCode(ctx context.Context, err error) int {
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, archive.ErrLocked):
		return exitLocked
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ue):
		return exitUsage
	case strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "required flag"):
		return exitUsage
	}
	return exitFailure
}
