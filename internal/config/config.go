// Package config reads ARCHIVE/mailark.toml: the accounts 'mailark sync'
// imports from and the targets exports go to. Secrets are never in the
// file itself, only where to get them (a file, a variable, a command).
// Every error names the file and line it is about.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/pelletier/go-toml/v2"
)

// FileName is the config's name inside the archive directory.
const FileName = "mailark.toml"

// Config is the whole file.
type Config struct {
	Accounts []Account `toml:"account"`
	Targets  []Target  `toml:"target"`
	Sync     Sync      `toml:"sync"`
}

// Sync holds defaults for 'mailark sync'.
type Sync struct {
	Parallel int `toml:"parallel"` // accounts synced at once; default 2
}

// Conn is what every network account or target has.
type Conn struct {
	Host               string `toml:"host"`
	Port               int    `toml:"port"`
	TLS                string `toml:"tls"` // tls, starttls (default), none
	TLSCA              string `toml:"tls_ca"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
	User               string `toml:"user"`
	PasswordFile       string `toml:"password_file"`
	PasswordEnv        string `toml:"password_env"`
	PasswordCmd        string `toml:"password_cmd"`
}

// Account is a source that 'mailark sync' imports from.
type Account struct {
	Name string `toml:"name"`
	Kind string `toml:"kind"` // imap or pop3
	Conn
	Folders     []string `toml:"folders"`     // IMAP: include globs (default all)
	Exclude     []string `toml:"exclude"`     // IMAP: exclude globs
	Connections int      `toml:"connections"` // IMAP: parallel connections
	Delete      bool     `toml:"delete"`      // POP3: delete from the server once archived

	line int
}

// Target is a destination for exports.
type Target struct {
	Name string `toml:"name"`
	Kind string `toml:"kind"` // imap or smtp
	Conn
	Prefix    string   `toml:"prefix"`     // IMAP: folder prefix on the target
	FolderMap []string `toml:"folder_map"` // IMAP: "SRC=DST"
	From      string   `toml:"from"`       // SMTP envelope sender
	To        []string `toml:"to"`         // SMTP envelope recipients
	Rate      float64  `toml:"rate"`       // SMTP messages per second (0: no limit)

	line int
}

// Error is a problem at a line of the file (0 when not known).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Load reads and checks path. A missing file is an empty Config and no
// error: flags alone work without one.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, b)
}

// Parse checks the contents of a config file named path.
func Parse(path string, b []byte) (*Config, error) {
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) && len(sm.Errors) > 0 {
			e := sm.Errors[0]
			row, _ := e.Position()
			return nil, &Error{path, row, fmt.Sprintf("unknown key %q", strings.Join(e.Key(), "."))}
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, &Error{path, row, de.Error()}
		}
		return nil, &Error{path, 0, err.Error()}
	}
	lines := tableLines(b)
	for i := range c.Accounts {
		c.Accounts[i].line = lines.at("account", i)
	}
	for i := range c.Targets {
		c.Targets[i].line = lines.at("target", i)
	}
	if err := c.check(path, lines); err != nil {
		return nil, err
	}
	return &c, nil
}

// positions maps (table, index, key) to a line, found by scanning the
// text: the decoder does not report where values were.
type positions map[string]int

func posKey(table string, i int, key string) string {
	return fmt.Sprintf("%s\x00%d\x00%s", table, i, key)
}

func (p positions) at(table string, i int) int { return p[posKey(table, i, "")] }

func (p positions) key(table string, i int, key string) int {
	if n := p[posKey(table, i, key)]; n > 0 {
		return n
	}
	return p.at(table, i)
}

// The regexps are compiled on first use: most commands never read the
// config, and compiling at start-up cost every command 0.25 ms.
var (
	headerRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*\[\[\s*([A-Za-z_]+)\s*\]\]`) })
	keyRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=`) })
	nameRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`) })
)

func tableLines(b []byte) positions {
	p := positions{}
	count := map[string]int{}
	table, idx := "", -1
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := headerRE().FindStringSubmatch(line); m != nil {
			table, idx = m[1], count[m[1]]
			count[m[1]]++
			p[posKey(table, idx, "")] = n
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "[") {
			table, idx = strings.Trim(strings.TrimSpace(line), "[] "), 0
			continue
		}
		if m := keyRE().FindStringSubmatch(line); m != nil && idx >= 0 {
			p[posKey(table, idx, m[1])] = n
		}
	}
	return p
}

func (c *Config) check(path string, lines positions) error {
	bad := func(table string, i int, key, format string, args ...any) error {
		return &Error{path, lines.key(table, i, key), fmt.Sprintf(format, args...)}
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		if !nameRE().MatchString(a.Name) {
			return bad("account", i, "name", "account name %q: want 1-64 characters of A-Z a-z 0-9 . _ @ + -", a.Name)
		}
		if seen[a.Name] {
			return bad("account", i, "name", "account %q is defined twice", a.Name)
		}
		seen[a.Name] = true
		if a.Kind != "imap" && a.Kind != "pop3" {
			return bad("account", i, "kind", "account %q: kind %q: want imap or pop3", a.Name, a.Kind)
		}
		if err := a.Conn.check(func(key, format string, args ...any) error {
			return bad("account", i, key, "account %q: "+format, append([]any{a.Name}, args...)...)
		}); err != nil {
			return err
		}
		if a.Kind == "pop3" && (len(a.Folders) > 0 || len(a.Exclude) > 0) {
			return bad("account", i, "folders", "account %q: folders and exclude are for IMAP accounts", a.Name)
		}
		if a.Kind == "imap" && a.Delete {
			return bad("account", i, "delete", "account %q: delete is for POP3 accounts (IMAP import never changes the server)", a.Name)
		}
		if a.Connections < 0 || a.Connections > 16 {
			return bad("account", i, "connections", "account %q: connections %d: want 1 to 16", a.Name, a.Connections)
		}
	}
	seen = map[string]bool{}
	for i, t := range c.Targets {
		if !nameRE().MatchString(t.Name) {
			return bad("target", i, "name", "target name %q: want 1-64 characters of A-Z a-z 0-9 . _ @ + -", t.Name)
		}
		if seen[t.Name] {
			return bad("target", i, "name", "target %q is defined twice", t.Name)
		}
		seen[t.Name] = true
		if t.Kind != "imap" && t.Kind != "smtp" {
			return bad("target", i, "kind", "target %q: kind %q: want imap or smtp", t.Name, t.Kind)
		}
		if err := t.Conn.check(func(key, format string, args ...any) error {
			return bad("target", i, key, "target %q: "+format, append([]any{t.Name}, args...)...)
		}); err != nil {
			return err
		}
		if t.Kind == "smtp" && (t.From == "" || len(t.To) == 0) {
			return bad("target", i, "to", "target %q: an smtp target needs from and to (the envelope; never the messages' own recipients)", t.Name)
		}
		for _, m := range t.FolderMap {
			if src, dst, ok := strings.Cut(m, "="); !ok || src == "" || dst == "" {
				return bad("target", i, "folder_map", "target %q: folder_map entry %q: want SRC=DST", t.Name, m)
			}
		}
		if t.Rate < 0 {
			return bad("target", i, "rate", "target %q: rate %g: want 0 (no limit) or more", t.Name, t.Rate)
		}
	}
	if c.Sync.Parallel < 0 || c.Sync.Parallel > 16 {
		return &Error{path, 0, fmt.Sprintf("sync.parallel %d: want 1 to 16", c.Sync.Parallel)}
	}
	return nil
}

func (c Conn) check(bad func(key, format string, args ...any) error) error {
	if c.Host == "" {
		return bad("host", "host is missing")
	}
	switch c.TLS {
	case "", "tls", "starttls", "none":
	default:
		return bad("tls", "tls %q: want tls, starttls or none", c.TLS)
	}
	if c.Port < 0 || c.Port > 65535 {
		return bad("port", "port %d: want 1 to 65535", c.Port)
	}
	n := 0
	for _, v := range []string{c.PasswordFile, c.PasswordEnv, c.PasswordCmd} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return bad("password_cmd", "give only one of password_file, password_env and password_cmd")
	}
	return nil
}

// Line returns the line of the account's [[account]] header.
func (a Account) Line() int { return a.line }

// Line returns the line of the target's [[target]] header.
func (t Target) Line() int { return t.line }

// Account finds an account by name.
func (c *Config) Account(name string) (Account, bool) {
	for _, a := range c.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// Target finds a target by name.
func (c *Config) Target(name string) (Target, bool) {
	for _, t := range c.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// Example is the commented file 'mailark init' writes.
const Example = `# mailark.toml: the accounts 'mailark sync' imports from, and export targets.
# Command-line flags override what is here. Passwords are never written in
# this file: give password_file, password_env or password_cmd (a command
# that prints the password, like mbsync's PassCmd).

# [sync]
# parallel = 2                  # accounts synced at once

# [[account]]
# name = "work"                 # the archive account (maildir/work/)
# kind = "imap"                 # imap or pop3
# host = "imap.example.org"
# port = 993                    # default: 993 with tls, 143 with starttls/none
# tls = "tls"                   # tls, starttls (default) or none (passwords in clear!)
# user = "me@example.org"
# password_cmd = "pass show mail/work"
# folders = ["*"]               # include globs (default: every folder)
# exclude = ["Trash", "Spam"]
# connections = 3

# [[account]]
# name = "old"
# kind = "pop3"
# host = "pop.example.net"
# tls = "starttls"
# user = "me"
# password_env = "OLD_POP_PASSWORD"
# delete = false                # true: delete from the server once archived

# [[target]]
# name = "newprovider"
# kind = "imap"                 # imap or smtp
# host = "imap.newprovider.example"
# tls = "tls"
# user = "me@newprovider.example"
# password_file = "~/.config/mailark/newprovider.pw"
# prefix = "Archive"
# folder_map = ["Sent=Sent Items"]
`
