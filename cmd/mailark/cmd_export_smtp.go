package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	smtpexp "github.com/mailark/mailark/exporters/smtp"
	"github.com/mailark/mailark/internal/progress"
	"github.com/mailark/mailark/internal/tlsopt"
	"github.com/spf13/cobra"
)

type exportSMTPOptions struct {
	conn    connFlags
	sel     selectFlags
	from    string
	to      []string
	rate    string
	retries int
	backoff time.Duration
	target  string
	resend  bool
}

func newExportSMTPCommand(g *globalOptions) *cobra.Command {
	var o exportSMTPOptions
	c := &cobra.Command{
		Use:   "smtp --host HOST --from ADDR --to ADDR... [--user USER PASSWORD]",
		Short: "Deliver messages, unchanged, to given recipients through an SMTP server",
		Long: `Deliver each selected message through an SMTP server (a submission server on
port 587 with STARTTLS by default) to the --to recipients, with --from as the
envelope sender. The message goes unchanged: its original headers stay as
they are, and its original recipients are never used as the envelope, so
nothing is sent to them. Line ends go out as CRLF, the form the message's ID
is computed over. A message selected in several folders is sent once.

AUTH (PLAIN, or LOGIN when PLAIN is not offered) is used when --user is given.
A message the server cannot take as it is, is reported and not sent, never
re-encoded: 8-bit content when the server does not offer 8BITMIME, 8-bit
headers without SMTPUTF8, lines longer than 998 octets, a NUL byte or a bare
CR, or more bytes than the server's SIZE. A non-ASCII --from or --to needs
SMTPUTF8 (the run fails at once without it).

4xx answers (and connections lost before a message was complete) are
retried --retries times, waiting --backoff, then twice as long each time (at
most a minute); a 5xx answer fails that message and the run goes on. --rate
limits the pace (N/s, N/m or N/h). A receipt per message, keyed by server,
envelope sender, recipients and message ID, is committed after the server's
250: a rerun sends only what has none. SMTP offers no way to ask what a
server already has, so right before the final dot a message is marked as
being sent: when a run is killed or interrupted before it recorded the
answer, the next run does not send that message again (it most likely
arrived) and reports it as uncertain each time; --resend-uncertain sends such
messages again once you have checked they did not arrive. A connection lost
right after the final dot is reported as uncertain and the message is sent
again by a later run.
` + selectionHelp,
		Example: `  mailark export smtp --host smtp.example.org --user alice --password-cmd 'pass mail/alice' \
      --from alice@example.org --to archive@example.org --query 'from:bob' --rate 2/s
  mailark export smtp --host 127.0.0.1 --port 25 --tls none --from me@localhost --to me@localhost`,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if o.target != "" {
				t, err := applyTarget(cmd, g, "smtp", o.target, &o.conn)
				if err != nil {
					return err
				}
				if !cmd.Flags().Changed("from") && t.From != "" {
					o.from = t.From
				}
				if !cmd.Flags().Changed("to") && len(t.To) > 0 {
					o.to = t.To
				}
				if !cmd.Flags().Changed("rate") && t.Rate > 0 {
					o.rate = strconv.FormatFloat(t.Rate, 'f', -1, 64) + "/s"
				}
			}
			if o.conn.host == "" {
				return &usageError{errors.New("--host (or --target) is required")}
			}
			if o.from == "" || len(o.to) == 0 {
				return &usageError{errors.New("--from and at least one --to are required")}
			}
			if err := smtpexp.Addresses(append([]string{o.from}, o.to...)...); err != nil {
				return &usageError{err}
			}
			if o.conn.user != "" && !o.conn.password.IsSet() {
				return &usageError{errors.New("--user needs a password: use --password-file, --password-env or --password-cmd")}
			}
			if _, err := smtpexp.ParseRate(o.rate); err != nil {
				return &usageError{err}
			}
			if o.retries < 0 || o.retries > 20 {
				return &usageError{fmt.Errorf("--retries %d: want 0 to 20", o.retries)}
			}
			return o.sel.validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportSMTP(cmd.Context(), g, o)
		},
	}
	o.conn.addFlags(c, tlsopt.StartTLS)
	o.sel.addFlags(c)
	f := c.Flags()
	f.StringVar(&o.from, "from", "", "envelope sender (MAIL FROM), a bare address")
	f.StringArrayVar(&o.to, "to", nil, "envelope recipient (RCPT TO), a bare address (repeatable)")
	f.StringVar(&o.rate, "rate", "", "send at most this many messages per second (N/s), minute (N/m) or hour (N/h)")
	f.StringVar(&o.target, "target", "", "take the connection, envelope and rate from this [[target]] of mailark.toml (flags override it)")
	f.IntVar(&o.retries, "retries", 4, "tries after the first for a message answered with 4xx")
	f.DurationVar(&o.backoff, "backoff", 2*time.Second, "wait before the first retry (doubled each time, at most 1m)")
	f.BoolVar(&o.resend, "resend-uncertain", false, "send again the messages an interrupted run sent without seeing the server's answer")
	return withExitStatus(c)
}

func runExportSMTP(ctx context.Context, g *globalOptions, o exportSMTPOptions) error {
	addr, to, err := o.conn.resolve("smtp")
	if err != nil {
		return err
	}
	cfg, err := o.conn.tlsConfig(g, "smtp", to)
	if err != nil {
		return err
	}
	rate, _ := smtpexp.ParseRate(o.rate)
	target := fmt.Sprintf("smtp://%s from %s to %s", addr, o.from, strings.Join(o.to, ","))
	return exportFrame(ctx, g, "export smtp", target, &o.sel, false, "sent",
		func(ctx context.Context, a *archive.Archive, sel *archive.Selection, run int64, prog progress.Counter, rep *exporters.Report) error {
			var pw string
			if o.conn.user != "" {
				if pw, err = o.conn.password.Read(ctx); err != nil {
					return err
				}
			}
			retries := o.retries
			if retries == 0 {
				retries = -1 // Options: negative means none
			}
			return smtpexp.Run(ctx, a, sel, smtpexp.Options{
				Addr: addr, TLS: to.Mode, TLSConfig: cfg, User: o.conn.user, Password: pw,
				From: o.from, To: o.to, Rate: rate, Retries: retries, Backoff: o.backoff,
				ResendUncertain: o.resend, Run: run, Logger: g.log, Progress: prog,
			}, rep)
		})
}
