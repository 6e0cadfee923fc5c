package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/tlsopt"
)

// Options configure Run and DryRun. Addr, TLS, User and Password are
// required; every other zero value means the default named in its comment.
type Options struct {
	Addr      string      // host:port
	TLS       tlsopt.Mode // Implicit, StartTLS or None
	TLSConfig *tls.Config // for Implicit and StartTLS
	User      string
	Password  string

	// Prefix puts every target folder below this folder (canonical form,
	// '/' between levels); "%a" in it is replaced by the source account.
	// Empty: the source folder's own name.
	Prefix string
	// FolderMap renames source folders (and their subfolders); the first
	// mapping whose Src is the folder or a parent of it wins, and Prefix is
	// not applied to what it names.
	FolderMap []Mapping

	// Connections is the number of connections APPENDing in parallel
	// (default 4); Window the number of APPENDs in flight on each (default 8).
	Connections int
	Window      int

	// Verify checks after the export that every selected message with a
	// receipt is on the target with the size sent.
	Verify bool

	// ReceiptBatch receipts are committed together (default 32), or those
	// waiting ReceiptInterval (default 500 ms), whichever comes first.
	ReceiptBatch    int
	ReceiptInterval time.Duration
	// Grace is how long an interrupted run waits for the answers to the
	// APPENDs already sent before it drops the connections (default 10 s).
	Grace time.Duration
	// ReconnectDelay is the pause after a connection drops, before the
	// APPENDs whose answers were lost are looked for on the server: time
	// for it to finish what it had received (default 1 s).
	ReconnectDelay time.Duration
	// IdleTimeout is how long a read may wait for the server's next bytes
	// while a response is due (default 60 s): a stalled connection is
	// dropped and handled like a broken one. It bounds a silence, not a
	// transfer.
	IdleTimeout time.Duration

	// Run is the audit-log run id stamped on receipts.
	Run int64

	Logger   *slog.Logger     // nil: discard
	Progress progress.Counter // nil: none
	// Dial opens the TCP connection; nil means a net.Dialer with a 30 s
	// timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DebugWriter, when set, receives the protocol trace (passwords
	// included: for debugging only).
	DebugWriter io.Writer
}

// Mapping renames a source folder: Src and Dst are canonical names.
type Mapping struct{ Src, Dst string }

// ParseMapping parses a --folder-map value "SRC=DST".
func ParseMapping(s string) (Mapping, error) {
	src, dst, ok := strings.Cut(s, "=")
	if !ok {
		return Mapping{}, fmt.Errorf("--folder-map %q: want SRC=DST", s)
	}
	var err error
	var m Mapping
	if m.Src, err = archive.CanonicalFolder(strings.Trim(src, "/")); err != nil {
		return Mapping{}, fmt.Errorf("--folder-map %q: %w", s, err)
	}
	if m.Dst, err = archive.CanonicalFolder(strings.Trim(dst, "/")); err != nil {
		return Mapping{}, fmt.Errorf("--folder-map %q: %w", s, err)
	}
	return m, nil
}

func (o *Options) defaults() error {
	if o.Addr == "" || o.User == "" {
		return errors.New("imap export: the server address and user are required")
	}
	if o.Connections <= 0 {
		o.Connections = 4
	}
	if o.Window <= 0 {
		o.Window = 8
	}
	if o.ReceiptBatch <= 0 {
		o.ReceiptBatch = 32
	}
	if o.ReceiptInterval <= 0 {
		o.ReceiptInterval = 500 * time.Millisecond
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = progress.Nop{}
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second}
		o.Dial = d.DialContext
	}
	return CheckPrefix(o.Prefix)
}

// CheckPrefix checks a --prefix value.
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	p := strings.ReplaceAll(prefix, "%a", "a")
	if _, err := archive.CanonicalFolder(strings.Trim(p, "/")); err != nil {
		return fmt.Errorf("--prefix %q: %w", prefix, err)
	}
	return nil
}

// Target names the server and user in receipts: "imap://host:port".
func (o *Options) Target() string { return "imap://" + strings.ToLower(o.Addr) }
