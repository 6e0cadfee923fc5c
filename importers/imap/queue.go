package imap

import (
	"context"
	"sync"
)

type jobKind int

const (
	jobExamine jobKind = iota // EXAMINE, list what is new, queue fetch jobs
	jobFetch                  // UID FETCH a batch
)

type job struct {
	kind     jobKind
	f        *folder
	uids     []uint32 // jobFetch: sorted
	attempts int      // consecutive lost connections without progress
	single   bool     // isolated after the server refused a batch
}

// queue is the workers' shared to-do list. Workers add jobs (an examined
// folder's batches, a batch's remainder after a lost connection); pop ends
// when no job is left and none is being worked on, or ctx ends.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	jobs   []*job
	active int
	closed bool
}

func newQueue(ctx context.Context) *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		q.cond.Broadcast()
	})
	return q
}

func (q *queue) push(jobs ...*job) {
	q.mu.Lock()
	q.jobs = append(q.jobs, jobs...)
	q.mu.Unlock()
	q.cond.Broadcast()
}

// pop returns the next job, preferring one for the folder the caller's
// connection has selected (saving an EXAMINE); the caller must call done
// after it. ok is false when all work is finished.
func (q *queue) pop(prefer *folder) (j *job, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) == 0 && q.active > 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed || len(q.jobs) == 0 {
		q.closed = true
		q.cond.Broadcast()
		return nil, false
	}
	i := 0
	if prefer != nil {
		for k, cand := range q.jobs {
			if cand.f == prefer {
				i = k
				break
			}
		}
	}
	j = q.jobs[i]
	q.jobs = append(q.jobs[:i], q.jobs[i+1:]...)
	q.active++
	return j, true
}

func (q *queue) done() {
	q.mu.Lock()
	q.active--
	q.mu.Unlock()
	q.cond.Broadcast()
}
