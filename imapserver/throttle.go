package imapserver

import (
	"sync"
	"time"
)

// loginThrottle slows down password guessing. Every failed login, per
// remote address and per user name, doubles the delay before the answer
// (base, 2×base, ... up to max), and a new attempt for the same address
// or user waits until the previous delay has run out, so that parallel
// connections gain nothing. Only the failing connection sleeps: other
// connections are served meanwhile. A success clears the user's and the
// address's record; a record is forgotten after forgetAfter without
// failures.
type loginThrottle struct {
	base, max time.Duration
	mu        sync.Mutex
	recs      map[string]*failRec
}

type failRec struct {
	n     int
	until time.Time // no attempt before this
	last  time.Time
}

const (
	forgetAfter = 15 * time.Minute
	maxRecords  = 100000
)

func newLoginThrottle(base, max time.Duration) *loginThrottle {
	return &loginThrottle{base: base, max: max, recs: map[string]*failRec{}}
}

// delay returns the delay after the n-th failure in a row.
func (t *loginThrottle) delay(n int) time.Duration {
	d := t.base
	for i := 1; i < n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// wait returns how long an attempt for keys must wait before it is checked.
func (t *loginThrottle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	var w time.Duration
	for _, k := range keys {
		if r := t.recs[k]; r != nil {
			w = max(w, r.until.Sub(now))
		}
	}
	return min(w, t.max)
}

// fail records a failed attempt and returns how long to hold the answer.
func (t *loginThrottle) fail(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if len(t.recs) >= maxRecords {
		t.prune(now)
	}
	var d time.Duration
	for _, k := range keys {
		r := t.recs[k]
		if r == nil || now.Sub(r.last) > forgetAfter {
			r = &failRec{}
			t.recs[k] = r
		}
		r.n++
		r.last = now
		d = max(d, t.delay(r.n))
	}
	for _, k := range keys {
		t.recs[k].until = now.Add(d)
	}
	return d
}

// succeed clears the records of keys.
func (t *loginThrottle) succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.recs, k)
	}
}

func (t *loginThrottle) prune(now time.Time) {
	for k, r := range t.recs {
		if now.Sub(r.last) > forgetAfter {
			delete(t.recs, k)
		}
	}
	if len(t.recs) >= maxRecords {
		clear(t.recs) // under a flood of names, start over rather than grow
	}
}
