// Package secret reads a password or token the way mailark's commands
// accept them: from a file, an environment variable or the output of a
// command (as mbsync's PassCmd), never from the command line itself, where
// other users can read it in the process list.
package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Source says where a secret comes from; exactly one field is set.
type Source struct {
	File string // a file holding the secret (its first line)
	Env  string // the name of an environment variable
	Cmd  string // a shell command that prints the secret (first line)
}

// ErrNone is returned by Read when no source is set.
var ErrNone = errors.New("no password given: use --password-file, --password-env or --password-cmd")

// IsSet reports whether any source is set.
func (s Source) IsSet() bool { return s.File != "" || s.Env != "" || s.Cmd != "" }

// Validate checks that at most one source is set.
func (s Source) Validate() error {
	n := 0
	for _, v := range []string{s.File, s.Env, s.Cmd} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("give only one of --password-file, --password-env and --password-cmd")
	}
	return nil
}

// Read returns the secret. Errors name the source but never contain the
// secret or the command's output.
func (s Source) Read(ctx context.Context) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("reading password file: %w", err)
		}
		return nonEmpty(firstLine(b), "password file "+s.File)
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return nonEmpty(v, "environment variable "+s.Env)
	case s.Cmd != "":
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", s.Cmd)
		cmd.Stdin = os.Stdin // a command may prompt (pass, gpg)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("running password command: %w", err)
		}
		return nonEmpty(firstLine(out), "password command")
	}
	return "", ErrNone
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return strings.TrimRight(string(b), "\r")
}

func nonEmpty(v, what string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("%s is empty", what)
	}
	return v, nil
}
