package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// request is one caller's decision waiting for its pool.
type request struct {
	ctx    context.Context
	now    time.Time
	decide pool.Command
	done   chan error // buffered: the answer, sent once
	// queued is when it joined the pool's queue (failedWhileQueued).
	queued time.Time
}

// requests recycles requests with their answer channel: Decide would
// otherwise allocate both for every decision.
var requests = sync.Pool{New: func() any { return &request{done: make(chan error, 1)} }}

func newRequest(ctx context.Context, now time.Time, decide pool.Command) *request {
	r := requests.Get().(*request)
	r.ctx, r.now, r.decide, r.queued = ctx, now, decide, time.Now()
	return r
}

// release returns r to the pool once its answer was received: by then it
// has left the queue and serve has finished with it (the answer is the last
// thing serve touches), and done is empty again.
func (r *request) release() {
	r.ctx, r.decide = nil, nil // keep no caller's state alive
	requests.Put(r)
}

// queue holds a pool's decisions not yet served, in arrival order, and
// whether someone is serving them.
type queue struct {
	mu sync.Mutex
	// pending[head:] wait; the array is reused from its start once all were
	// served, so a pool's queue stops allocating once it has grown.
	pending []*request
	head    int
	serving bool
}

// push queues r; true means the pool was idle and the caller now serves it.
func (q *queue) push(r *request) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == cap(q.pending) && q.head > 0 {
		// Full, with served slots at the front: move the waiting ones there
		// rather than grow (a pool that never drains would otherwise grow
		// its array for ever).
		n := copy(q.pending, q.pending[q.head:])
		clear(q.pending[n:])
		q.pending, q.head = q.pending[:n], 0
	}
	q.pending = append(q.pending, r)
	if q.serving {
		return false
	}
	q.serving = true
	return true
}

// next pops the oldest request; nil means the queue is empty and the pool
// is idle again.
func (q *queue) next() *request {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.pending) {
		q.serving = false
		return nil
	}
	r := q.pending[q.head]
	q.pending[q.head] = nil
	q.head++
	if q.head == len(q.pending) {
		q.pending, q.head = q.pending[:0], 0
	}
	return r
}

// more reports whether requests wait; when none does, the pool is idle again.
func (q *queue) more() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.pending) {
		q.serving = false
		return false
	}
	return true
}

// take pops up to len(into) of the oldest requests into into; none means the
// queue is empty and the pool is idle again.
func (q *queue) take(into []*request) []*request {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := copy(into, q.pending[q.head:])
	if n == 0 {
		q.serving = false
		return into[:0]
	}
	clear(q.pending[q.head : q.head+n])
	q.head += n
	if q.head == len(q.pending) {
		q.pending, q.head = q.pending[:0], 0
	}
	return into[:n]
}

// maxGroup bounds the decisions one group commit appends (see serveGroup).
const maxGroup = 64

// lead serves the queued decisions in order until none is left: one alone,
// several that queued up while the pool was busy as one group commit where
// that pays (see serveGroup), otherwise one by one.
func (s *Store) lead(e *entry) {
	var buf [maxGroup]*request
	for group := e.queue.take(buf[:]); len(group) > 0; group = e.queue.take(buf[:]) {
		if len(group) > 1 && e.batches.Load() {
			s.serveGroup(e, group)
			continue
		}
		for _, r := range group {
			s.serve(e, r)
		}
	}
}

// serve runs one queued decision under the pool's lock and answers it.
func (s *Store) serve(e *entry, r *request) {
	e.lock <- struct{}{}
	defer func() { <-e.lock }()
	if err := failedWhileQueued(e, r); err != nil {
		r.done <- err
		return
	}
	err := s.run(e, r)
	noteLogFailure(e, err)
	r.done <- err
}

// failedWhileQueued answers Unavailable, at once, a request that waited for
// the pool while a decision on it found the log unreachable: trying again
// would hold the pool for another timeout, and the requests queued behind
// for one each, until the last answered at its caller's deadline. Its caller
// retries with the event id; a request queued after the failure tries the
// log again. The caller holds e.lock.
func failedWhileQueued(e *entry, r *request) error {
	if e.logFailed.IsZero() || !r.queued.Before(e.logFailed) {
		return nil
	}
	return fmt.Errorf("pool %s/%s: a decision queued before it found the log unreachable: %w",
		e.pool.Org, e.pool.Team, eventlog.Unavailable(r.ctx, ErrLogTimeout))
}

// noteLogFailure records when a decision on e found the log unreachable
// (see failedWhileQueued); not for an error of that request alone, nor for
// its caller's deadline. The caller holds e.lock.
func noteLogFailure(e *entry, err error) {
	if errors.Is(err, ErrLogTimeout) || (errors.Is(err, eventlog.ErrUnavailable) && eventlog.Unreachable(err)) {
		e.logFailed = time.Now()
	}
}

// run decides r on the pool as folded after the previous decision's append.
// A panic in it (a caller's code, maybe run by another goroutine) is r's
// error: the pool may be half changed, so it is reloaded from the log. The
// caller holds e.lock.
func (s *Store) run(e *entry, r *request) (err error) {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			e.loaded = false
			err = fmt.Errorf("decision on pool %s/%s panicked: %v", e.pool.Org, e.pool.Team, p)
		}
	}()
	return s.decideOne(r.ctx, e, r.now, r.decide)
}
