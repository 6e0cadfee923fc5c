package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailark/mailark/imapserver"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

func init() { register("server", newUsersCommand) }

// usersFlags is the --users flag the users subcommands share.
type usersFlags struct{ file string }

func (u *usersFlags) path(g *globalOptions) string {
	if u.file != "" {
		return u.file
	}
	return filepath.Join(g.archiveDir, "users")
}

func newUsersCommand(g *globalOptions) *cobra.Command {
	uf := &usersFlags{}
	c := &cobra.Command{
		Use:   "users",
		Short: "Manage who may log in to 'mailark serve'",
		Long: `Manage the users file of 'mailark serve' (ARCHIVE/users unless --users).
Each user has a bcrypt password hash (never the password) and the archive
accounts it may see. The file is written 0600 and replaced atomically; a
running server rereads it at the next login.`,
		Example: "  mailark users add alice --accounts work\n  mailark users list",
		Args:    cobra.NoArgs,
	}
	c.PersistentFlags().StringVar(&uf.file, "users", "", "users file (default ARCHIVE/users)")
	c.AddCommand(newUsersAddCommand(g, uf), newUsersListCommand(g, uf), newUsersRemoveCommand(g, uf))
	return withExitStatus(c)
}

func newUsersAddCommand(g *globalOptions, uf *usersFlags) *cobra.Command {
	var accounts []string
	var pwFile string
	c := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user, or set an existing user's password and accounts",
		Long: `Add a user to the users file, or replace an existing user's password and
accounts. The password comes from --password-file (its first line), else from
a prompt on the terminal (not echoed, asked twice), else from the first line
of standard input. --accounts lists the archive accounts the user sees
(default: every account).`,
		Example: `  mailark users add alice --accounts work,home
  mailark users add backup --password-file /run/secrets/imap`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := imapserver.CheckUserName(name); err != nil {
				return &usageError{err}
			}
			if len(accounts) == 0 {
				accounts = []string{imapserver.AllAccounts}
			}
			if err := imapserver.CheckAccounts(accounts); err != nil {
				return &usageError{err}
			}
			pw, err := readNewPassword(g, pwFile, cmd.InOrStdin())
			if err != nil {
				return err
			}
			hash, err := imapserver.HashPassword(pw, 0)
			if err != nil {
				return &usageError{err}
			}
			warnUnknownAccounts(cmd, g, accounts)
			updated := false
			err = editUsers(uf.path(g), func(list []imapserver.User) []imapserver.User {
				u := imapserver.User{Name: name, Hash: hash, Accounts: accounts}
				if i := slices.IndexFunc(list, func(x imapserver.User) bool { return x.Name == name }); i >= 0 {
					list[i], updated = u, true
					return list
				}
				return append(list, u)
			})
			if err != nil {
				return err
			}
			if !g.quiet {
				verb := "added"
				if updated {
					verb = "updated"
				}
				fmt.Fprintf(g.stderr, "%s user %s (accounts: %s) in %s\n", verb, name, strings.Join(accounts, ","), uf.path(g))
			}
			return nil
		},
	}
	c.Flags().StringSliceVar(&accounts, "accounts", nil, "accounts the user sees, comma separated (default: all)")
	c.Flags().StringVar(&pwFile, "password-file", "", "read the password from the first line of this file")
	return withExitStatus(c)
}

// warnUnknownAccounts says when an account has nothing in the archive
// (a typo, or an account not imported yet).
func warnUnknownAccounts(cmd *cobra.Command, g *globalOptions, accounts []string) {
	if slices.Contains(accounts, imapserver.AllAccounts) {
		return
	}
	a, err := openArchiveReadOnly(cmd.Context(), g)
	if err != nil {
		return
	}
	defer a.Close()
	for _, acct := range accounts {
		if fs, err := a.Folders(cmd.Context(), []string{acct}); err == nil && len(fs) == 0 {
			fmt.Fprintf(g.stderr, "mailark: warning: the archive has no account %q (yet)\n", acct)
		}
	}
}

// readNewPassword reads a password from a file, a terminal prompt or stdin.
func readNewPassword(g *globalOptions, file string, stdin io.Reader) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading the password file: %w", err)
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		return bytes.TrimSuffix(line, []byte("\r")), nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(g.stderr, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		fmt.Fprint(g.stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.stderr)
		if err != nil {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the passwords differ")
		}
		return pw, nil
	}
	line, err := bufio.NewReader(stdin).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) == 0 {
		return nil, &usageError{errors.New("no password: give --password-file, or run on a terminal, or pipe it on standard input")}
	}
	return line, nil
}

// editUsers changes the users file under an exclusive lock, so that two
// commands at once do not lose each other's change.
func editUsers(path string, edit func([]imapserver.User) []imapserver.User) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("locking the users file: %w", err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("locking the users file: %w", err)
	}
	list, err := imapserver.ReadUsersFile(path)
	if err != nil {
		return err
	}
	return imapserver.WriteUsersFile(path, edit(list))
}

func newUsersListCommand(g *globalOptions, uf *usersFlags) *cobra.Command {
	return withExitStatus(&cobra.Command{
		Use:   "list",
		Short: "List the users and their accounts",
		Long: `List the users of the users file, one a line: the name and the accounts it
sees (* for every account). --json prints a list of {name, accounts}. Hashes
are not shown.`,
		Example: "  mailark users list --json",
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := imapserver.ReadUsersFile(uf.path(g))
			if err != nil {
				return err
			}
			if g.json {
				type ju struct {
					Name     string   `json:"name"`
					Accounts []string `json:"accounts"`
				}
				out := []ju{}
				for _, u := range list {
					out = append(out, ju{u.Name, u.Accounts})
				}
				return printJSON(g.stdout, out)
			}
			for _, u := range list {
				g.printf("%s\t%s\n", u.Name, strings.Join(u.Accounts, ","))
			}
			return nil
		},
	})
}

func newUsersRemoveCommand(g *globalOptions, uf *usersFlags) *cobra.Command {
	return withExitStatus(&cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a user",
		Long: `Remove a user from the users file. A running server refuses the user's
next login; connections already logged in stay until they end.`,
		Example: "  mailark users remove alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			found := false
			err := editUsers(uf.path(g), func(list []imapserver.User) []imapserver.User {
				return slices.DeleteFunc(list, func(u imapserver.User) bool {
					if u.Name == args[0] {
						found = true
					}
					return u.Name == args[0]
				})
			})
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("no user %s in %s", args[0], uf.path(g))
			}
			if !g.quiet {
				fmt.Fprintf(g.stderr, "removed user %s\n", args[0])
			}
			return nil
		},
	})
}
