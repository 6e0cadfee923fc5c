package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/tlsopt"
)

// Options configure Run. Addr, From and To are required; every other zero
// value means the default named in its comment.
type Options struct {
	Addr      string      // host:port
	TLS       tlsopt.Mode // StartTLS (the usual on 587), Implicit (465) or None
	TLSConfig *tls.Config
	// User and Password, when User is set, log in with AUTH PLAIN (or
	// LOGIN when PLAIN is not offered). Without User no AUTH is tried.
	User, Password string

	// From is the envelope sender (MAIL FROM); To the envelope recipients
	// (RCPT TO). The messages' own From/To/Cc headers are never used as
	// envelope: nothing goes to the original recipients.
	From string
	To   []string

	// Rate is the most messages per second sent; 0 means no limit.
	Rate float64
	// Retries is how often a message the server answers with 4xx (or a
	// dropped connection before the message was complete) is tried again
	// (default 4), waiting Backoff (default 2 s), then twice as long each
	// time, at most MaxBackoff (default 1 min).
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Timeout is how long one read or write may wait for the server
	// (default 10 min, RFC 5321 4.5.3.2's longest, for the answer to the
	// final dot); a stalled connection is dropped and handled like a
	// broken one.
	Timeout time.Duration

	// ResendUncertain sends again the messages a killed or interrupted
	// run marked as being sent (archive.ReceiptSending) and never saw
	// answered; by default they are skipped with a warning, because they
	// most likely arrived and sending them again would deliver them twice.
	ResendUncertain bool

	// Run is the audit-log run id stamped on receipts.
	Run int64

	Logger   *slog.Logger     // nil: discard
	Progress progress.Counter // nil: none
	// Dial opens the TCP connection; nil means a net.Dialer with a 30 s
	// timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DebugWriter, when set, receives the protocol trace (AUTH included:
	// for debugging only).
	DebugWriter io.Writer
}

// ParseRate parses a --rate value: "N/s", "N/m", "N/h" or a bare N (per
// second); N may have a fraction. 0 means no limit.
func ParseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	num, unit, _ := strings.Cut(s, "/")
	var n float64
	if _, err := fmt.Sscanf(num, "%g", &n); err != nil || n < 0 {
		return 0, fmt.Errorf("--rate %q: want N/s, N/m or N/h with N >= 0", s)
	}
	switch strings.ToLower(unit) {
	case "", "s", "sec":
		return n, nil
	case "m", "min":
		return n / 60, nil
	case "h", "hour":
		return n / 3600, nil
	}
	return 0, fmt.Errorf("--rate %q: unit must be s, m or h", s)
}

func (o *Options) defaults() error {
	if o.Addr == "" {
		return errors.New("smtp export: the server address is required")
	}
	if o.From == "" || len(o.To) == 0 {
		return errors.New("smtp export: --from and at least one --to are required")
	}
	for _, a := range append([]string{o.From}, o.To...) {
		if strings.ContainsAny(a, "<>\r\n \t") {
			return fmt.Errorf("smtp export: %q is not a bare address (no <>, spaces or line breaks)", a)
		}
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
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
	return nil
}

// Scope is where this export's receipts live: the server, the envelope
// sender, and the recipients (sorted, lower case): sending the same
// message to other recipients is another export.
func (o *Options) Scope() archive.ReceiptScope {
	to := make([]string, len(o.To))
	for i, a := range o.To {
		to[i] = strings.ToLower(a)
	}
	slices.Sort(to)
	to = slices.Compact(to)
	return archive.ReceiptScope{Target: "smtp://" + strings.ToLower(o.Addr), User: o.From, Folder: strings.Join(to, ",")}
}
