package pop3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mailark/mailark/archive"
	"github.com/mailark/mailark/importers"
	"github.com/mailark/mailark/internal/progress"
)

// SourceName is the catalog source of a maildrop: "pop3:<host>/<user>".
// It names the maildrop, not the account it is filed under, so a maildrop
// is fetched once whatever --account says.
func SourceName(host, user string) string {
	return "pop3:" + strings.ToLower(host) + "/" + user
}

// Sink is what an import needs of the archive; *archive.Writer is one.
type Sink interface {
	Spool(account string, r io.Reader) (*archive.Spooled, error)
	DeliverSpooled(ctx context.Context, sp *archive.Spooled, m archive.Meta) (archive.Result, error)
	AfterCommit(fn func())
	Commit(ctx context.Context) error
}

var _ Sink = (*archive.Writer)(nil)

// Config describes one import.
type Config struct {
	Addr           string // host:port
	Host           string // for SourceName; "" means the host of Addr
	User, Password string
	Mechanism      Mechanism // Auto picks the best offered
	Dial           Options   // security, TLS, timeouts, pipelining, trace

	Account string // the archive account the messages are filed under
	Folder  string // "" means INBOX
	// Delete removes from the server every message whose delivery into
	// the archive is committed, in this run or an earlier one. Without it
	// the server is not changed.
	Delete bool

	// Known are the refs (UIDLs) the archive has committed for this
	// maildrop: archive.SourceRefs(ctx, SourceName(...)). Those messages
	// are not fetched again.
	Known map[string]archive.ID

	// Retries is how many times in a row a broken session is reconnected
	// without any progress before the import gives up; 0 means 5.
	Retries int
	// RetryDelay is the first pause before reconnecting, doubled each
	// time up to 30 s; 0 means 1 s.
	RetryDelay time.Duration

	Progress progress.Counter // nil: none
	Logger   *slog.Logger     // nil: discard
}

// Result is what an import did on the server, beyond the report's counts.
type Result struct {
	OnServer int  `json:"on_server"` // messages in the maildrop at the first listing
	Known    int  `json:"known"`     // of those, skipped as already archived (UIDL known)
	Deleted  int  `json:"deleted"`   // messages removed from the server (marked, and QUIT succeeded)
	Sessions int  `json:"sessions"`  // POP3 sessions used (more than one after a reconnect)
	NoUIDL   bool `json:"no_uidl"`   // the server has no UIDL: everything was fetched
}

// maxCuts is how often the connection may break while one message is
// being received before that message is given up as failed.
const maxCuts = 3

// Import fetches every message of the maildrop that the archive does not
// have yet into w, counting into rep, and with cfg.Delete removes from the
// server what is durably archived.
//
// Each message streams from RETR into the archive; a message the server
// refuses (-ERR) is counted as failed and the run goes on. A connection
// that breaks mid-message loses only that message's partial bytes (they
// are never stored): Import reconnects and goes on, finding the remaining
// messages by UIDL, since message numbers change between sessions.
//
// With cfg.Delete, DELE is sent only at the end of a session and only for
// messages whose delivery w has committed (w.Commit first, then the
// AfterCommit hooks say which), and QUIT only after that. A session that
// breaks off before QUIT deletes nothing (RFC 1939 §6), and the next run
// deletes what is left, since its UIDLs are then known.
//
// Import returns an error when the archive fails, ctx is cancelled, the
// login is refused, or the server cannot be reached again; w is not
// committed then, and the caller decides.
func Import(ctx context.Context, cfg Config, w Sink, rep *importers.Report) (*Result, error) {
	im := &importer{
		cfg:       cfg,
		w:         w,
		rep:       rep,
		log:       cfg.Logger,
		prog:      cfg.Progress,
		known:     cfg.Known,
		stored:    map[string]bool{},
		committed: map[string]bool{},
		failed:    map[string]bool{},
		cuts:      map[string]int{},
		announced: map[string]bool{},
		seen:      map[archive.ID]bool{},
		res:       &Result{},
	}
	if im.log == nil {
		im.log = slog.New(slog.DiscardHandler)
	}
	if im.prog == nil {
		im.prog = progress.Nop{}
	}
	if im.known == nil {
		im.known = map[string]archive.ID{}
	}
	host := cfg.Host
	if host == "" {
		host, _, _ = net.SplitHostPort(cfg.Addr)
	}
	im.source = SourceName(host, cfg.User)
	if cfg.Dial.Logger == nil {
		im.cfg.Dial.Logger = im.log
	}
	return im.res, im.run(ctx)
}

type importer struct {
	cfg    Config
	w      Sink
	rep    *importers.Report
	log    *slog.Logger
	prog   progress.Counter
	source string
	res    *Result
	listed bool // a session has listed the maildrop

	known  map[string]archive.ID // UIDLs committed before this run
	stored map[string]bool       // UIDLs delivered in this run
	// hookMu guards committed and the durable maps: the writer runs
	// AfterCommit hooks on whichever goroutine commits, which is another
	// importer's when several share a Writer (mailark sync).
	hookMu    sync.Mutex
	committed map[string]bool     // UIDLs whose delivery in this run is durable
	failed    map[string]bool     // UIDLs that failed in this run: not retried
	cuts      map[string]int      // connection losses while receiving a UIDL
	announced map[string]bool     // UIDLs counted into the progress totals
	seen      map[archive.ID]bool // without UIDL: messages counted in this run
	head      headerCapture
}

// sessionLost is a broken connection: reconnect and go on.
type sessionLost struct{ err error }

func (e *sessionLost) Error() string { return e.err.Error() }
func (e *sessionLost) Unwrap() error { return e.err }

func (im *importer) run(ctx context.Context) error {
	retries := im.cfg.Retries
	if retries <= 0 {
		retries = 5
	}
	delay := im.cfg.RetryDelay
	if delay <= 0 {
		delay = time.Second
	}
	idle := 0
	for {
		progressed, err := im.session(ctx)
		var lost *sessionLost
		if !errors.As(err, &lost) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if progressed {
			idle = 0
		} else {
			idle++
		}
		if idle > retries {
			return fmt.Errorf("giving up after %d attempts without progress: %w", idle, lost.err)
		}
		wait := min(delay<<max(idle-1, 0), 30*time.Second)
		im.log.Warn("POP3 session lost; reconnecting", "server", im.cfg.Addr, "error", lost.err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// session runs one POP3 session: log in, list, fetch what is new, delete
// what may be deleted, quit. progressed says whether anything was stored
// or deleted.
func (im *importer) session(ctx context.Context) (progressed bool, err error) {
	first := !im.listed // the first session that gets as far as a listing
	c, err := Dial(ctx, im.cfg.Addr, im.cfg.Dial)
	if err != nil {
		return false, im.classifyConnect(err, im.res.Sessions == 0)
	}
	im.res.Sessions++
	defer c.Close() // without QUIT: deletes nothing
	if err := c.Login(ctx, im.cfg.User, im.cfg.Password, im.cfg.Mechanism); err != nil {
		return false, im.classifyConnect(err, im.res.Sessions == 1)
	}
	msgs, hasUIDL, err := c.Messages(ctx)
	if err != nil {
		var pe *ProtocolError
		var e *Error
		switch {
		case errors.As(err, &e) && e.retrySoon():
			// -ERR [SYS/TEMP] or [IN-USE] to LIST: worth another session
			// after a pause, like the same answer at login.
			return false, &sessionLost{fmt.Errorf("listing messages: %w", err)}
		case !errors.As(err, &pe) || c.Err() != nil:
			return false, im.lost(c, fmt.Errorf("listing messages: %w", err))
		}
		// A line of LIST or UIDL was garbage: go on with the others.
		im.warn(im.source, fmt.Errorf("listing messages: %w", err))
	}
	im.listed = true
	if first {
		im.res.OnServer, im.res.NoUIDL = len(msgs), !hasUIDL
		if !hasUIDL {
			im.warn(im.source, errors.New("server has no UIDL: every message is fetched, and the archive recognises those it has by their content"))
		}
	}
	msgs = im.dedupUIDs(msgs, first)
	todo, byNum := im.plan(msgs, first)

	// Message numbers of this session whose delivery is durable (for
	// messages without a UIDL, which only this session can name).
	durable := map[int]bool{}
	nums := make([]int, len(todo))
	for i, m := range todo {
		nums[i] = m.Num
	}
	before := im.rep.New + im.rep.Linked + im.rep.Existing + im.rep.Failed
	err = c.RetrEach(ctx, nums, func(n int, body io.Reader, rerr error) error {
		return im.fetch(ctx, c, byNum[n], body, rerr, durable)
	})
	progressed = im.rep.New+im.rep.Linked+im.rep.Existing+im.rep.Failed > before
	if err != nil {
		return progressed, im.lost(c, err)
	}
	if ctx.Err() != nil {
		return progressed, ctx.Err()
	}
	if im.cfg.Delete {
		n, err := im.deleteCommitted(ctx, c, msgs, durable)
		if err != nil {
			return progressed, err
		}
		progressed = progressed || n > 0
	}
	if err := c.Quit(ctx); err != nil {
		var e *Error
		if errors.As(err, &e) {
			// RFC 2449 §8.1.2 / RFC 1939 §6: -ERR to QUIT means the UPDATE
			// state could not remove (all) marked messages.
			if im.cfg.Delete {
				im.warn(im.source, fmt.Errorf("server could not remove the messages marked for deletion: %w", err))
				im.res.Deleted = 0
			}
			return progressed, nil
		}
		if im.cfg.Delete {
			// We cannot know whether the UPDATE state ran; the next run
			// deletes whatever is still there.
			im.warn(im.source, fmt.Errorf("no answer to QUIT, deletions uncertain: %w", err))
		}
	}
	return progressed, nil
}

// classifyConnect decides whether a failure to connect or log in is worth
// another attempt.
func (im *importer) classifyConnect(err error, first bool) error {
	var e *Error
	switch {
	case errors.Is(err, ErrAuth), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &e):
		// [IN-USE] (a session still holds the maildrop, often our own
		// broken one) and [SYS/TEMP] pass; [LOGIN-DELAY] is minutes or
		// more (RFC 2449 §6.5): say so rather than hammer the server.
		if e.retrySoon() {
			return &sessionLost{err}
		}
		return err
	case first:
		// Nothing has worked yet: a wrong host or port, a certificate that
		// does not verify. Say so at once rather than retry.
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return &sessionLost{err}
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return &sessionLost{err}
	}
	return err
}

// lost turns an error of an established session into sessionLost when the
// connection is what failed, and leaves it as it is otherwise (the
// archive failed, or ctx was cancelled).
func (im *importer) lost(c *Client, err error) error {
	var al *archiveError
	if errors.As(err, &al) {
		return al.err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if c.Err() != nil {
		return &sessionLost{err}
	}
	return err
}

// dedupUIDs blanks UIDLs that the server lists for more than one message
// (a broken server): such messages are fetched and deduplicated by
// content, like those of a server without UIDL.
func (im *importer) dedupUIDs(msgs []MessageInfo, first bool) []MessageInfo {
	count := map[string]int{}
	for _, m := range msgs {
		if m.UID != "" {
			count[m.UID]++
		}
	}
	for i, m := range msgs {
		if count[m.UID] > 1 {
			if first {
				im.warn(im.where(m), errors.New("the server lists this UIDL for more than one message; fetching by content"))
			}
			msgs[i].UID = ""
		}
	}
	return msgs
}

// plan picks the messages to fetch in this session.
func (im *importer) plan(msgs []MessageInfo, first bool) ([]MessageInfo, map[int]MessageInfo) {
	var todo []MessageInfo
	byNum := map[int]MessageInfo{}
	var addMsgs, addBytes int64
	for _, m := range msgs {
		byNum[m.Num] = m
		if m.UID != "" {
			if _, ok := im.known[m.UID]; ok {
				if first {
					im.res.Known++
					im.rep.Existing++
				}
				continue
			}
			if im.stored[m.UID] || im.failed[m.UID] {
				continue
			}
			if !im.announced[m.UID] {
				im.announced[m.UID] = true
				addMsgs++
				addBytes += m.Size
			}
		} else if first {
			addMsgs++
			addBytes += m.Size
		}
		todo = append(todo, m)
	}
	im.prog.AddTotal(addMsgs, addBytes)
	return todo, byNum
}

// archiveError is a failure of the archive: the import stops.
type archiveError struct{ err error }

func (e *archiveError) Error() string { return e.err.Error() }
func (e *archiveError) Unwrap() error { return e.err }

func (im *importer) where(m MessageInfo) string {
	uid := m.UID
	if uid == "" {
		uid = "-"
	}
	return fmt.Sprintf("%s msg %d uidl %s", im.source, m.Num, uid)
}

// fetch stores one message from its RETR body.
func (im *importer) fetch(ctx context.Context, c *Client, m MessageInfo, body io.Reader, rerr error, durable map[int]bool) error {
	if rerr != nil {
		im.fail(m, rerr)
		return nil
	}
	im.head.reset()
	sp, err := im.w.Spool(im.cfg.Account, io.TeeReader(&addedCRLF{r: body, size: m.Size}, &im.head))
	if err != nil {
		var se *archive.SourceError
		if !errors.As(err, &se) {
			return &archiveError{fmt.Errorf("%s: %w", im.where(m), err)}
		}
		if c.Err() == nil {
			im.fail(m, err) // an empty message, say
			return nil
		}
		// The connection broke: nothing of the message was kept.
		if m.UID != "" {
			im.cuts[m.UID]++
			if im.cuts[m.UID] >= maxCuts {
				im.fail(m, fmt.Errorf("connection lost %d times while receiving this message: %w", maxCuts, err))
			}
		}
		return err
	}
	meta := archive.Meta{
		Account:      im.cfg.Account,
		Folder:       im.cfg.Folder,
		InternalDate: internalDate(im.head.buf),
	}
	if m.UID != "" {
		meta.Source, meta.Ref = im.source, m.UID
	}
	// The batch outlives ctx (the caller commits what is complete after
	// an interrupt): the writer gets a context that is not cancelled.
	res, err := im.w.DeliverSpooled(context.WithoutCancel(ctx), sp, meta)
	if err != nil {
		return &archiveError{fmt.Errorf("%s: %w", im.where(m), err)}
	}
	counted := true
	if m.UID == "" && res.Status == archive.StatusExists && im.seen[res.ID] && im.res.Sessions > 1 {
		counted = false // fetched again after a reconnect, already counted
	}
	if m.UID == "" {
		im.seen[res.ID] = true
	}
	if counted {
		switch res.Status {
		case archive.StatusNew:
			im.rep.New++
			im.rep.Bytes += res.Size
		case archive.StatusLinked:
			im.rep.Linked++
		case archive.StatusExists:
			im.rep.Existing++
		}
		if res.NearDup {
			im.rep.NearDups++
		}
		im.prog.Add(1, res.Size)
	}
	uid, num := m.UID, m.Num
	if uid != "" {
		im.stored[uid] = true
	}
	im.w.AfterCommit(func() {
		im.hookMu.Lock()
		defer im.hookMu.Unlock()
		if uid != "" {
			im.committed[uid] = true
		} else {
			durable[num] = true
		}
	})
	return nil
}

func (im *importer) fail(m MessageInfo, err error) {
	if m.UID != "" {
		im.failed[m.UID] = true
	}
	im.rep.Failed++
	im.problem(im.where(m), err, true)
	im.log.Warn("message not archived", "where", im.where(m), "error", err)
	im.prog.Add(1, 0)
}

func (im *importer) warn(where string, err error) {
	im.problem(where, err, false)
	im.log.Warn(err.Error(), "where", where)
}

func (im *importer) problem(where string, err error, fatal bool) {
	if len(im.rep.Problems) < 10000 {
		im.rep.Problems = append(im.rep.Problems, archive.RunProblem{Where: where, Error: err.Error(), Fatal: fatal})
	}
}

// deleteCommitted commits the archive's batch, then marks for deletion
// every message of this session that is durably archived: by UIDL, known
// before this run or committed in it; without UIDL, delivered in this
// session and committed.
func (im *importer) deleteCommitted(ctx context.Context, c *Client, msgs []MessageInfo, durable map[int]bool) (int, error) {
	if err := im.w.Commit(context.WithoutCancel(ctx)); err != nil {
		// Nothing is deleted: the deferred Close ends the session
		// without QUIT.
		return 0, fmt.Errorf("committing before DELE: %w", err)
	}
	var nums []int
	for _, m := range msgs {
		_, known := im.known[m.UID]
		im.hookMu.Lock()
		durableNow := m.UID != "" && im.committed[m.UID] || m.UID == "" && durable[m.Num]
		im.hookMu.Unlock()
		if m.UID != "" && known || durableNow {
			nums = append(nums, m.Num)
		}
	}
	if len(nums) == 0 {
		return 0, nil
	}
	refused, err := c.DeleEach(ctx, nums)
	if err != nil {
		return 0, im.lost(c, fmt.Errorf("marking messages for deletion: %w", err))
	}
	for n, e := range refused {
		im.warn(fmt.Sprintf("%s msg %d", im.source, n), fmt.Errorf("not deleted: %w", e))
	}
	im.res.Deleted = len(nums) - len(refused)
	im.log.Info("marked messages for deletion", "count", im.res.Deleted)
	return im.res.Deleted, nil
}
