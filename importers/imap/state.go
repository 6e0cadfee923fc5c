package imap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/mailark/mailark/archive"
)

// Sync-state keys of a folder; see the package documentation.
const (
	keyValidity = "uidvalidity"
	keyLastUID  = "lastuid"
	keyFailed   = "failed"
)

// StateReader reads sync state: *archive.Archive (committed) and
// *archive.Writer (staged too) both are one.
type StateReader interface {
	State(ctx context.Context, source, key string) (string, bool, error)
}

// StateSource returns the sync_state source of a folder (canonical name)
// of user on host.
func StateSource(host, user, folder string) string {
	return "imap:" + strings.ToLower(host) + "/" + user + "/" + folder
}

func stateSource(o *Options, name string) string { return StateSource(o.Host, o.User, name) }

// loadState reads what the previous run saved for f. Unreadable values
// are logged and ignored: the folder is then rescanned, which dedup
// makes safe.
func loadState(ctx context.Context, st StateReader, o *Options, f *folder) error {
	if st == nil {
		return nil
	}
	get := func(key string) (uint32, string, error) {
		v, ok, err := st.State(ctx, f.source, key)
		if err != nil || !ok || key == keyFailed {
			return 0, v, err
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			o.Logger.Warn("ignoring unreadable sync state; rescanning the folder", "folder", f.name, "key", key, "value", v)
			return 0, "", errBadState
		}
		return uint32(n), v, nil
	}
	validity, _, err := get(keyValidity)
	if err != nil {
		return ignoreBadState(err)
	}
	last, _, err := get(keyLastUID)
	if err != nil {
		return ignoreBadState(err)
	}
	_, failed, err := get(keyFailed)
	if err != nil {
		return err
	}
	uids, err := parseUIDs(failed)
	if err != nil {
		o.Logger.Warn("ignoring unreadable sync state; rescanning the folder", "folder", f.name, "key", keyFailed, "error", err)
		return nil
	}
	f.savedValidity, f.savedLast, f.savedFailed = validity, last, uids
	return nil
}

var errBadState = errors.New("unreadable sync state")

func ignoreBadState(err error) error {
	if errors.Is(err, errBadState) {
		return nil
	}
	return err
}

// formatUIDs writes sorted, distinct UIDs as IMAP ranges: "3,7:9".
func formatUIDs(uids []uint32) string {
	var b strings.Builder
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(uids[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(uids[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// maxSavedFailed bounds what parseUIDs expands: the failed list is meant
// for a few broken messages, not a whole mailbox.
const maxSavedFailed = 1 << 20

// parseUIDs reads formatUIDs' output back, sorted and distinct.
func parseUIDs(s string) ([]uint32, error) {
	if s == "" {
		return nil, nil
	}
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil || a == 0 {
			return nil, fmt.Errorf("bad UID list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b < a {
				return nil, fmt.Errorf("bad UID list %q", s)
			}
		}
		if b-a+uint64(len(out)) > maxSavedFailed {
			return nil, fmt.Errorf("UID list %q is too long", s)
		}
		for u := a; u <= b; u++ {
			out = append(out, uint32(u))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// uidSet turns sorted UIDs into a compact IMAP UID set.
func uidSet(uids []uint32) imap.UIDSet {
	var set imap.UIDSet
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		set = append(set, imap.UIDRange{Start: imap.UID(uids[i]), Stop: imap.UID(uids[j])})
		i = j + 1
	}
	return set
}

// cursor is a folder's checkpoint, kept by the writer goroutine. uids is
// this run's work in UID order; lastuid advances over it only as far as
// every UID is resolved: delivered (staged in the writer's batch), gone
// from the server, or recorded in the failed list, which is staged with
// it. Messages may be resolved in any order (several connections share a
// folder); the checkpoint still moves in UID order.
type cursor struct {
	f        *folder
	validity uint32
	uids     []uint32
	next     int                 // uids[:next] are resolved
	early    map[uint32]struct{} // resolved, but after an unresolved one
	floor    uint32              // UIDNEXT-1 at EXAMINE: no UID up to it is missing from uids
	last     uint32
	failed   map[uint32]struct{}

	wroteValidity bool
	wroteLast     uint32
	wroteLastOK   bool
	wroteFailed   string
	failedDirty   bool
}

func newCursor(f *folder, validity uint32, uids []uint32, floor, last uint32, failed []uint32) *cursor {
	c := &cursor{f: f, validity: validity, uids: uids, floor: floor, last: last,
		early: map[uint32]struct{}{}, failed: map[uint32]struct{}{}}
	for _, u := range failed {
		c.failed[u] = struct{}{}
	}
	if validity == f.savedValidity {
		c.wroteValidity = true
		c.wroteLast, c.wroteLastOK = f.savedLast, true
		c.wroteFailed = formatUIDs(f.savedFailed)
	} else {
		// A new UIDVALIDITY (or a first run): write everything once.
		c.failedDirty, c.wroteFailed = true, "\x00"
	}
	c.advance()
	return c
}

// resolve records the outcome of one UID.
func (c *cursor) resolve(uid uint32, failed bool) {
	_, was := c.failed[uid]
	switch {
	case failed && !was:
		c.failed[uid] = struct{}{}
		c.failedDirty = true
	case !failed && was:
		delete(c.failed, uid)
		c.failedDirty = true
	}
	c.early[uid] = struct{}{}
	c.advance()
}

func (c *cursor) advance() {
	for c.next < len(c.uids) {
		u := c.uids[c.next]
		if _, ok := c.early[u]; !ok {
			break
		}
		delete(c.early, u)
		c.last = max(c.last, u)
		c.next++
	}
	if c.next == len(c.uids) {
		c.last = max(c.last, c.floor)
	}
}

// complete reports whether every UID of the run is resolved.
func (c *cursor) complete() bool { return c.next == len(c.uids) }

// stage puts what changed into the writer's current batch.
func (c *cursor) stage(ctx context.Context, w *archive.Writer) error {
	src := c.f.source
	if !c.wroteValidity {
		if err := w.SetState(ctx, src, keyValidity, strconv.FormatUint(uint64(c.validity), 10)); err != nil {
			return err
		}
		c.wroteValidity = true
	}
	if !c.wroteLastOK || c.last != c.wroteLast {
		if err := w.SetState(ctx, src, keyLastUID, strconv.FormatUint(uint64(c.last), 10)); err != nil {
			return err
		}
		c.wroteLast, c.wroteLastOK = c.last, true
	}
	if !c.failedDirty {
		return nil
	}
	failed := make([]uint32, 0, len(c.failed))
	for u := range c.failed {
		failed = append(failed, u)
	}
	slices.Sort(failed)
	if s := formatUIDs(failed); s != c.wroteFailed {
		if err := w.SetState(ctx, src, keyFailed, s); err != nil {
			return err
		}
		c.wroteFailed = s
	}
	c.failedDirty = false
	return nil
}
