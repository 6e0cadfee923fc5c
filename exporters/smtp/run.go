package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/exporters"
	"github.com/mailark/mailark/internal/tlsopt"
)

// ErrNotSendable reports a message that SMTP cannot carry unchanged, or
// that this server cannot take as it is; it is reported, not sent.
var ErrNotSendable = errors.New("cannot be sent unchanged")

// ErrUncertain reports a message whose delivery is unknown: the connection
// dropped after the whole message was sent and before the server's
// answer. It is not retried (that could deliver it twice) and gets no
// receipt (so a later run sends it again: check the mailbox first).
var ErrUncertain = errors.New("delivery uncertain")

// maxLine is the longest line SMTP allows, CRLF excluded (RFC 5321
// 4.5.3.1.6).
const maxLine = 998

// Run delivers each selected message, once per run however many folders
// select it, to o.To with o.From as the envelope sender, unchanged: its
// bytes with line endings normalised to CRLF, the form its ID is computed
// over. A message with a receipt for this (server, sender, recipients) is
// skipped; a receipt is committed after each 250 answer to the message.
// Right before the end of DATA the message is marked as being sent (where
// store can, see sendingStore), so that a run killed before the answer
// was recorded does not deliver it twice: the next run reports it as
// uncertain and skips it.
// 4xx answers are retried with back-off; 5xx answers and messages this
// server cannot take as they are fail that message, and the run goes on.
// The error is for the run as a whole (server unreachable, login refused,
// catalog failing).
func Run(ctx context.Context, store exporters.ReceiptStore, sel *archive.Selection, o Options, rep *exporters.Report) error {
	if err := o.defaults(); err != nil {
		return err
	}
	scope := o.Scope()
	have, err := store.Receipts(ctx, scope)
	if err != nil {
		return err
	}
	msgs, _, crlf := sel.Totals()
	o.Progress.AddTotal(msgs, crlf)
	s := &sender{o: &o, rep: rep, scope: scope, store: store, j: exporters.NewJournal(store, 1, 0, o.Run)}
	s.mark, _ = store.(sendingStore)
	defer s.close()
	for _, f := range sel.Folders() {
		src := f.Account + "/" + f.Name
		rep.AddSource(rep.Folder(src), src, f.Messages, f.CRLFBytes)
	}
	sent := map[archive.ID]bool{}
	err = sel.Each(ctx, func(e *archive.SelectedEntry) error {
		fr := rep.Folder(e.Account + "/" + e.Folder)
		size := e.CRLFSize
		count := func(k exporters.Kind) {
			rep.Add(fr, k, size)
			o.Progress.Add(1, size)
		}
		if r, ok := have[e.ID]; ok && !(r.How == archive.ReceiptSending && o.ResendUncertain) {
			if r.How == archive.ReceiptSending {
				// The run that sent it died before the answer: most likely
				// delivered, and sending it again could deliver it twice.
				rep.Problem(where(e), fmt.Sprintf("%v: run %d was stopped after sending the whole message, before the server's answer; it most likely arrived and is not sent again (check the mailbox; --resend-uncertain sends it)", ErrUncertain, r.Run), false)
			}
			count(exporters.Already)
			return nil
		}
		if sent[e.ID] {
			count(exporters.Duplicate)
			return nil
		}
		sent[e.ID] = true
		err := s.deliver(ctx, e)
		switch {
		case err == nil:
			count(exporters.Done)
		case errors.Is(err, errFatal):
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			count(exporters.Failed)
			rep.Problem(where(e), err.Error(), true)
		}
		return nil
	})
	rep.Finish()
	return err
}

// errFatal marks errors that end the run.
var errFatal = errors.New("fatal")

type fatalError struct{ err error }

func (e *fatalError) Error() string   { return e.err.Error() }
func (e *fatalError) Unwrap() []error { return []error{e.err, errFatal} }
func fatal(err error) error           { return &fatalError{err} }
func where(e *archive.SelectedEntry) string {
	return fmt.Sprintf("%s/%s uid %d (%s)", e.Account, e.Folder, e.UID, e.ID.Short())
}

// sender holds the connection and the pacing.
type sender struct {
	o     *Options
	rep   *exporters.Report
	scope archive.ReceiptScope
	store exporters.ReceiptStore
	mark  sendingStore // store, when it can mark messages being sent; else nil
	j     *exporters.Journal
	c     *smtp.Client
	stop  func() bool
	next  time.Time // earliest start of the next message (Rate)
}

// deliver sends one message, retrying what is worth retrying.
func (s *sender) deliver(ctx context.Context, e *archive.SelectedEntry) error {
	body, err := exporters.Load(e)
	if err != nil {
		return err
	}
	defer body.Release()
	delay := s.o.Backoff
	for attempt := 0; ; attempt++ {
		if err := s.pace(ctx); err != nil {
			return err
		}
		if s.c == nil {
			if err := s.connect(ctx); err != nil {
				if attempt >= s.o.Retries || isPermanent(err) {
					return fatal(err)
				}
				s.o.Logger.Warn("connecting failed; trying again", "addr", s.o.Addr, "in", delay, "err", err)
				if err := sleep(ctx, delay); err != nil {
					return err
				}
				delay = min(delay*2, s.o.MaxBackoff)
				continue
			}
		}
		if err := s.check(body); err != nil {
			return err
		}
		err := s.transaction(ctx, body, e.ID)
		if err == nil {
			r := s.receipt(e.ID, body.Size)
			r.How = archive.ReceiptSent
			if err := s.j.Add(context.WithoutCancel(ctx), r); err != nil {
				return fatal(err)
			}
			if !body.Features.FinalNewline {
				s.rep.Problem(where(e), "the message does not end with a line break: SMTP adds CRLF, so the delivered copy has another ID", false)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *smtp.SMTPError
		switch {
		case errors.Is(err, errFatal), errors.Is(err, ErrUncertain):
			// The store failed to mark the message before the final dot
			// or to drop the mark after it (errFatal: the run ends), or
			// the dot went out without an answer (ErrUncertain: reported,
			// not retried, as that could deliver it twice). Either way the
			// connection is dropped.
			s.drop()
			return err
		case errors.As(err, &se) && !se.Temporary():
			s.reset()
			return fmt.Errorf("server refused the message: %w", err)
		case errors.As(err, &se):
			s.reset()
			if se.Code == 421 {
				s.drop()
			}
		default:
			s.drop() // the connection broke before the message was complete
		}
		if attempt >= s.o.Retries {
			return fmt.Errorf("still not accepted after %d tries: %w", attempt+1, err)
		}
		s.o.Logger.Info("deferred; trying again", "message", e.ID.Short(), "in", delay, "err", err)
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(delay*2, s.o.MaxBackoff)
	}
}

// pace waits for the rate limit.
func (s *sender) pace(ctx context.Context) error {
	if s.o.Rate <= 0 {
		return nil
	}
	now := time.Now()
	if wait := s.next.Sub(now); wait > 0 {
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		now = s.next
	}
	s.next = now.Add(time.Duration(float64(time.Second) / s.o.Rate))
	return nil
}

// check refuses what this server cannot take unchanged (see sendable).
func (s *sender) check(b *exporters.Body) error {
	limit, _ := s.c.MaxMessageSize()
	return sendable(b.Features, b.Size, func(ext string) bool { ok, _ := s.c.Extension(ext); return ok }, int64(limit), s.o.Addr)
}

// sendable refuses what would not arrive unchanged: what SMTP cannot
// carry at all (NUL, bare CR, lines over 998 octets) and what the server
// did not offer to take (8-bit body without 8BITMIME, 8-bit headers
// without SMTPUTF8, more than its SIZE limit; 0: none).
func sendable(f exporters.Features, size int64, has func(ext string) bool, limit int64, server string) error {
	switch {
	case f.NUL:
		return fmt.Errorf("%w: it contains a NUL byte (SMTP needs BINARYMIME for that, which mailark does not send)", ErrNotSendable)
	case f.BareCR:
		return fmt.Errorf("%w: it contains a CR that does not end a line (RFC 5321 2.3.8)", ErrNotSendable)
	case f.LongestLine > maxLine:
		return fmt.Errorf("%w: a line of %d octets (SMTP allows %d, RFC 5321 4.5.3.1.6)", ErrNotSendable, f.LongestLine, maxLine)
	case f.EightBitHeader && !has("SMTPUTF8"):
		return fmt.Errorf("%w: 8-bit header bytes, and %s does not offer SMTPUTF8", ErrNotSendable, server)
	case f.EightBitBody && !has("8BITMIME") && !has("SMTPUTF8"):
		return fmt.Errorf("%w: 8-bit body, and %s does not offer 8BITMIME", ErrNotSendable, server)
	case limit > 0 && size > limit:
		return fmt.Errorf("%w: %d bytes, the server's SIZE limit is %d", ErrNotSendable, size, limit)
	}
	return nil
}

// sendingStore is a ReceiptStore that can mark a message as being sent
// (*archive.Archive can).
type sendingStore interface {
	MarkSending(ctx context.Context, r archive.Receipt) error
}

// transaction runs MAIL, RCPT, DATA for one message. Between the body and
// the final dot, the moment the server may take the message, the message
// is marked as being sent; an answer that refuses it, or a broken
// connection (documented: that uncertain delivery is sent again by a
// later run), removes the mark; the 250's receipt replaces it. An error
// after the final dot that is not the server's answer wraps ErrUncertain.
func (s *sender) transaction(ctx context.Context, b *exporters.Body, id archive.ID) error {
	opts := &smtp.MailOptions{Size: b.Size, UTF8: b.Features.EightBitHeader || !ascii(s.o.From)}
	if err := s.c.Mail(s.o.From, opts); err != nil {
		return err
	}
	for _, to := range s.o.To {
		if err := s.c.Rcpt(to, nil); err != nil {
			return err
		}
	}
	w, err := s.c.Data()
	if err != nil {
		return err
	}
	r, err := b.Open()
	if err != nil {
		w.Close()
		return err
	}
	_, werr := io.Copy(w, r)
	r.Close()
	if werr != nil {
		return werr // not complete: the server cannot have accepted it
	}
	if s.mark != nil {
		rc := s.receipt(id, b.Size)
		rc.Run = s.o.Run
		if err := s.mark.MarkSending(context.WithoutCancel(ctx), rc); err != nil {
			return fatal(err) // no final dot: nothing is delivered
		}
	}
	if _, err := w.CloseWithResponse(); err != nil {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			err = fmt.Errorf("%w: %v", ErrUncertain, err)
		}
		// An interrupted run keeps the mark, as a killed one does: its
		// dot most likely went out before the connection was closed.
		if s.mark != nil && (se != nil || ctx.Err() == nil) {
			if derr := s.store.DropReceipts(context.WithoutCancel(ctx), s.scope, []archive.ID{id}); derr != nil {
				return fatal(derr)
			}
		}
		return err
	}
	return nil
}

// receipt is the receipt of message id of size bytes in this run's scope.
func (s *sender) receipt(id archive.ID, size int64) archive.Receipt {
	return archive.Receipt{Target: s.scope.Target, User: s.scope.User, Folder: s.scope.Folder, ID: id, Size: size}
}

// connect dials, secures, greets and logs in.
func (s *sender) connect(ctx context.Context) error {
	raw, err := s.o.Dial(ctx, "tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", s.o.Addr, err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	c, err := s.open(&timeoutConn{Conn: raw, timeout: s.o.Timeout})
	if err != nil {
		stop()
		raw.Close()
		return err
	}
	if s.o.DebugWriter != nil {
		c.DebugWriter = s.o.DebugWriter
	}
	for _, a := range append([]string{s.o.From}, s.o.To...) {
		if !ascii(a) {
			if ok, _ := c.Extension("SMTPUTF8"); !ok {
				c.Close()
				stop()
				return &permanentError{fmt.Errorf("%w: the address %q is not ASCII and %s does not offer SMTPUTF8", ErrNotSendable, a, s.o.Addr)}
			}
		}
	}
	s.c, s.stop = c, stop
	return nil
}

func (s *sender) open(raw net.Conn) (*smtp.Client, error) {
	var c *smtp.Client
	var err error
	switch s.o.TLS {
	case tlsopt.Implicit:
		c = smtp.NewClient(tls.Client(raw, s.o.TLSConfig))
		err = c.Hello("localhost")
	case tlsopt.StartTLS:
		c, err = smtp.NewClientStartTLS(raw, s.o.TLSConfig)
		if err != nil {
			err = fmt.Errorf("STARTTLS with %s: %w (use --tls tls for implicit TLS)", s.o.Addr, err)
			// A server that does not offer STARTTLS will not on a retry;
			// go-smtp says so only in a plain error's text.
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return nil, &permanentError{err}
			}
			return nil, err
		}
		// go-smtp leaves the TLS handshake to the next command, and its
		// SupportsAuth turns that command's error into false: an untrusted
		// certificate was reported as "offers neither AUTH PLAIN nor LOGIN"
		// (or, without AUTH, as failed messages, retried). Greet over TLS
		// now so that a failed handshake is reported as such.
		if err := c.Hello("localhost"); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS after STARTTLS with %s: %w", s.o.Addr, err)
		}
	case tlsopt.None:
		c = smtp.NewClient(raw)
		err = c.Hello("localhost")
	default:
		return nil, fmt.Errorf("unknown TLS mode %q", s.o.TLS)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting %s: %w", s.o.Addr, err)
	}
	if s.o.User == "" {
		return c, nil
	}
	var auth sasl.Client
	switch {
	case c.SupportsAuth("PLAIN"):
		auth = sasl.NewPlainClient("", s.o.User, s.o.Password)
	case c.SupportsAuth("LOGIN"):
		auth = sasl.NewLoginClient(s.o.User, s.o.Password)
	default:
		c.Close()
		return nil, &permanentError{fmt.Errorf("%s offers neither AUTH PLAIN nor LOGIN", s.o.Addr)}
	}
	if err := c.Auth(auth); err != nil {
		c.Close()
		var se *smtp.SMTPError
		if errors.As(err, &se) && !se.Temporary() {
			return nil, &permanentError{fmt.Errorf("logging in as %s at %s: %w", s.o.User, s.o.Addr, err)}
		}
		return nil, fmt.Errorf("logging in as %s at %s: %w", s.o.User, s.o.Addr, err)
	}
	return c, nil
}

// permanentError marks connection failures that retrying cannot mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var pe *permanentError
	var cv *tls.CertificateVerificationError
	return errors.As(err, &pe) || errors.As(err, &cv)
}

// reset ends a failed transaction; a connection that cannot even do that
// is dropped.
func (s *sender) reset() {
	if s.c != nil && s.c.Reset() != nil {
		s.drop()
	}
}

func (s *sender) drop() {
	if s.c != nil {
		s.c.Close()
		s.stop()
		s.c = nil
	}
}

// close says QUIT within a short time.
func (s *sender) close() {
	if s.c == nil {
		return
	}
	done := make(chan struct{})
	go func() { s.c.Quit(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	s.drop()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Addresses checks --from/--to values for the CLI: bare addresses with an @.
func Addresses(addrs ...string) error {
	for _, a := range addrs {
		if !strings.Contains(a, "@") || strings.ContainsAny(a, "<> \t\r\n") {
			return fmt.Errorf("%q is not an address (want local@domain, without <>)", a)
		}
	}
	return nil
}
