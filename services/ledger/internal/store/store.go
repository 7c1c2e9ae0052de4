// Package store keeps the ledger's pools in JetStream: one subject per pool on
// the LEDGER stream, appended with the expected last subject sequence so two
// replicas can never both write on the same state.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// ErrContention means the pool kept moving under us; the caller may retry.
var ErrContention = errors.New("pool is contended: too many concurrent writers")

// ErrLogTimeout means JetStream did not acknowledge an append within the
// store's append timeout: the log is unreachable or stalled. The event may
// have been stored; a retry with the same event id finds out.
var ErrLogTimeout = errors.New("event log did not acknowledge the append in time")

// DefaultAppendTimeout bounds one append when WithAppendTimeout was not called.
const DefaultAppendTimeout = time.Second

const maxAttempts = 16

// Store holds the pools this replica has loaded.
type Store struct {
	js  jetstream.JetStream
	log *slog.Logger

	// placement finds each pool's LEDGER stream and subject; without it
	// (WithPlacement not called) every pool is in the legacy LEDGER stream.
	placement *Placement
	// stream is the legacy LEDGER stream's handle when there is no
	// placement, looked up once: a pool's catch-up then costs one request
	// when nothing is new, where looking it up each time cost a stream info
	// request too.
	streamMu sync.Mutex
	stream   jetstream.Stream

	mu    sync.Mutex
	pools map[poolKey]*entry

	// snapshots, when set, make start-up a snapshot plus the tail, and are
	// written every snapshotEvery events of a pool at least (snapshotDue).
	snapshots     *Snapshots
	snapshotEvery uint64
	saves         sync.WaitGroup

	// appendTimeout bounds each append, whatever the caller's deadline: an
	// append in flight when NATS goes away is never answered.
	appendTimeout time.Duration

	// grouped counts decisions appended by a group commit, regrouped those
	// of refused groups, decided again one by one (see serveGroup).
	grouped, regrouped atomic.Uint64
}

// GroupStats returns how many decisions were appended by group commits, and
// how many were in groups that were refused and decided again one by one.
func (s *Store) GroupStats() (grouped, regrouped uint64) {
	return s.grouped.Load(), s.regrouped.Load()
}

// poolKey names a pool in Store.pools; a struct rather than "org.team" so
// looking a pool up builds no string.
type poolKey struct{ org, team string }

type entry struct {
	// lock (capacity 1) is held while working on pool: serving one queued
	// decision (queue.go), or a Read.
	lock  chan struct{}
	queue queue
	pool  *pool.Pool
	// subject is the pool's LEDGER subject and stream its stream, found
	// once (place) rather than per decision; placed once they are final.
	subject string
	stream  jetstream.Stream
	placed  bool
	// batches is whether stream takes atomic batches cheaply (batchesPay),
	// read by the queue's leader without the lock.
	batches atomic.Bool
	seq     uint64 // last subject sequence folded into pool
	loaded  bool
	// sinceSnapshot counts the events folded since the last snapshot.
	sinceSnapshot uint64
	// saving is set while a snapshot of this pool is being written.
	saving atomic.Bool
	// dup is the event id of the last append refused as a duplicate, if any.
	dup string
	// logFailed is when a decision last found the log unreachable.
	logFailed time.Time
}

// New returns a store over js.
func New(js jetstream.JetStream, log *slog.Logger) *Store {
	s := &Store{js: js, log: log, pools: map[poolKey]*entry{}, appendTimeout: DefaultAppendTimeout}
	track(s)
	return s
}

// WithPlacement places pools in the LEDGER streams as pl records them.
func (s *Store) WithPlacement(pl *Placement) *Store {
	s.placement = pl
	return s
}

// WithAppendTimeout bounds each append by d (0: DefaultAppendTimeout).
func (s *Store) WithAppendTimeout(d time.Duration) *Store {
	if d > 0 {
		s.appendTimeout = d
	}
	return s
}

// WithSnapshots makes the store start pools from snapshots and write one
// every `every` events of a pool, or further apart for a busy pool (see
// snapshotDue).
func (s *Store) WithSnapshots(snaps *Snapshots, every uint64) *Store {
	s.mu.Lock() // the snapshot age gauge reads them
	defer s.mu.Unlock()
	s.snapshots, s.snapshotEvery = snaps, every
	return s
}

// Decide makes one decision (pool.Decide: due expiries, decide's events,
// budget crossings) on the pool of (org, team) and appends its events. decide
// may be called several times when another writer got there first, each time
// on fresher state: the pool is loaded again from the log and decides again.
// On return the events are durable in JetStream and folded into the pool.
//
// Concurrent decisions on one pool queue up and are served in order by one
// goroutine at a time (see lead), so the pool moves on to the next decision as
// soon as an append is acknowledged, without waiting for its caller to be
// scheduled. A caller finding the pool idle serves its own decision.
func (s *Store) Decide(ctx context.Context, org, team string, now time.Time, decide pool.Command) error {
	defer observeDecision(ctx, time.Now())
	e := s.entry(org, team)
	r := newRequest(ctx, now, decide)
	if e.queue.push(r) {
		s.serve(e, e.queue.next()) // r: it was alone in the idle queue
		if e.queue.more() {
			go s.lead(e)
		}
	}
	err := <-r.done
	r.release()
	return err
}

// decideOne runs one decision on the held pool until it is appended. The
// caller holds e.lock.
func (s *Store) decideOne(ctx context.Context, e *entry, now time.Time, decide pool.Command) error {
	if err := s.place(ctx, e, true); err != nil {
		return err
	}
	subject := e.subject
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err := backOff(ctx, attempt); err != nil {
			return err
		}
		countRetry(ctx, attempt)
		if err := s.catchUp(ctx, e, subject, !e.loaded || attempt > 0); err != nil {
			return err
		}
		events, err := e.pool.Decide(now, decide)
		if err != nil {
			if errors.Is(err, pool.ErrRefused) {
				e.loaded = false // folded in part: the log is the truth
			}
			return err
		}
		retry, err := s.appendAll(ctx, e, subject, events)
		if err != nil {
			return err
		}
		if !retry {
			s.maybeSnapshot(ctx, e)
			return nil
		}
	}
	if e.dup != "" && s.catchUp(ctx, e, subject, true) == nil {
		if _, ok := e.pool.Applied(e.dup); !ok {
			// The stream's duplicate window spans all its subjects: the id was
			// stored for another pool's event, never this one's.
			return fmt.Errorf("event %s: %w", e.dup, pool.ErrEventIDReused)
		}
	}
	return fmt.Errorf("pool %s/%s: %w", e.pool.Org, e.pool.Team, ErrContention)
}

// backOff waits before attempt (from 0) of a decision: not before the first
// two, then 1, 2, 4 ... up to 64 ms, each between half and all of that. On a
// replicated stream an append the log has not committed yet is invisible to
// a catch-up but refuses the same event id (in process) or the same expected
// sequence; deciding again at once would spend every attempt inside one
// replication round.
func backOff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return nil
	}
	d := time.Millisecond << min(attempt-2, 6)
	t := time.NewTimer(d/2 + rand.N(d/2))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Read runs fn on the pool of (org, team) after catching up with the log, so
// answers reflect what other replicas appended.
func (s *Store) Read(ctx context.Context, org, team string, fn func(p *pool.Pool)) error {
	e := s.entry(org, team)
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.lock }()
	if err := s.place(ctx, e, false); err != nil {
		return err
	}
	if err := s.catchUp(ctx, e, e.subject, true); err != nil {
		return err
	}
	fn(e.pool)
	return nil
}

// appendAll appends events, already folded into the pool, in order, each
// expecting the subject's sequence the previous one left (the first: the one
// the decision was made on), so none is appended on state the decision did
// not see. retry is true when the log moved or already held an event: the
// decision must be made again on fresh state. Unless all were appended, the
// pool holds events the log does not and is loaded again next time; the
// events already appended are facts with their own ids, found there, so the
// decision made again makes only what is still missing. The caller holds
// e.lock.
func (s *Store) appendAll(ctx context.Context, e *entry, subject string, events []*v1.Event) (retry bool, err error) {
	e.dup = ""
	for _, ev := range events {
		ack, err := s.append(ctx, subject, ev, e.seq)
		if eventlog.IsConflict(err) {
			countConflict(ctx, err)
			e.loaded = false
			return true, nil
		}
		if err != nil {
			e.loaded = false
			return false, eventlog.Unavailable(ctx, err)
		}
		if ack.Duplicate {
			// Stored before (a retry after a lost ack, or another replica): fold
			// it from the log and decide again, which finds its outcome.
			e.dup = ev.GetEventId()
			e.loaded = false
			return true, nil
		}
		e.seq = ack.Sequence
		e.sinceSnapshot++
	}
	return false, nil
}

// readTimeout bounds each read request on a pool's way to a decision (its
// snapshot, placement, last sequence, next message): twice the append
// timeout, at least 2 s, since a read on a busy replicated stream may
// legitimately take longer than one append.
func (s *Store) readTimeout() time.Duration { return max(2*s.appendTimeout, 2*time.Second) }

// append appends ev expecting the subject at expect, within the append timeout.
func (s *Store) append(ctx context.Context, subject string, ev *v1.Event, expect uint64) (eventlog.Appended, error) {
	actx, cancel := context.WithTimeout(ctx, s.appendTimeout)
	defer cancel()
	ack, err := eventlog.Append(actx, s.js, subject, ev, &expect)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return ack, fmt.Errorf("append %s: no acknowledgement within %s: %w", ev.GetEventId(), s.appendTimeout, ErrLogTimeout)
	}
	return ack, err
}

// catchUp folds the subject's events after e.seq; when full, it first resets
// the pool and reads the subject from the start. The caller holds e.lock.
func (s *Store) catchUp(ctx context.Context, e *entry, subject string, needed bool) error {
	if !needed {
		return nil
	}
	if !e.loaded {
		org, team := e.pool.Org, e.pool.Team
		e.pool, e.seq = pool.New(org, team), 0
		if s.snapshots != nil {
			lctx, cancel := context.WithTimeout(ctx, s.readTimeout())
			p, seq, ok, err := s.snapshots.Load(lctx, org, team)
			cancel()
			if err != nil {
				return eventlog.Unavailable(ctx, err)
			}
			if ok {
				e.pool, e.seq = p, seq
			}
		}
	}
	// Each request bounded: a stream without a leader fails the call
	// Unavailable in about that long, not at the caller's deadline.
	last, err := eventlog.ReadStreamWithin(ctx, e.stream, subject, e.seq, s.readTimeout(), func(st eventlog.Stored) error {
		e.sinceSnapshot++
		err := e.pool.Apply(st.Event)
		if errors.Is(err, pool.ErrRefused) {
			// Not made by this ledger's decisions: folded as nothing, so
			// the pool stays whole and available.
			s.log.Warn("ledger event refused by the fold", "subject", subject, "seq", st.Sequence, "error", err)
			return nil
		}
		return err
	})
	if err != nil {
		e.loaded = false
		return fmt.Errorf("load pool %s: %w", subject, eventlog.Unavailable(ctx, err))
	}
	e.seq, e.loaded = last, true
	return nil
}

// place finds e's subject and stream, recording the pool's placement when
// write; until the pool is placed (a read of a pool never written) it is
// looked up again each time. A pool found elsewhere than it was read from
// is loaded again. The caller holds e.lock.
func (s *Store) place(ctx context.Context, e *entry, write bool) error {
	if e.placed {
		return nil
	}
	org, team := e.pool.Org, e.pool.Team
	subj, stream, placed := eventlog.LedgerSubject(org, team), jetstream.Stream(nil), true
	// A few requests (the record, a new pool's history lookups), bounded
	// so a leaderless bucket or stream fails the call soon.
	pctx, cancel := context.WithTimeout(ctx, s.readTimeout())
	defer cancel()
	var err error
	if s.placement != nil {
		var p int
		if p, placed, err = s.placement.Of(pctx, org, team, write); err == nil {
			subj = subject.LedgerSubjectIn(p, org, team)
			stream, err = s.placement.Stream(pctx, p)
		}
	} else {
		stream, err = s.ledgerStream(pctx)
	}
	if err != nil {
		return fmt.Errorf("place pool %s/%s: %w", org, team, eventlog.Unavailable(ctx, err))
	}
	if subj != e.subject {
		e.subject, e.loaded = subj, false
	}
	e.stream, e.placed = stream, placed
	e.batches.Store(batchesPay(stream))
	return nil
}

// ledgerStream returns the legacy LEDGER stream's handle, asking the server
// for it the first time.
func (s *Store) ledgerStream(ctx context.Context) (jetstream.Stream, error) {
	s.streamMu.Lock()
	defer s.streamMu.Unlock()
	if s.stream == nil {
		stream, err := s.js.Stream(ctx, eventlog.LedgerStream)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", eventlog.LedgerStream, err)
		}
		s.stream = stream
	}
	return s.stream, nil
}

func (s *Store) entry(org, team string) *entry {
	key := poolKey{org, team}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.pools[key]
	if !ok {
		e = &entry{lock: make(chan struct{}, 1), pool: pool.New(org, team)}
		s.pools[key] = e
	}
	return e
}

// maybeSnapshot writes a snapshot when enough events passed since the last.
// The state is captured under the pool's lock (copied, the small parts
// encoded) but encoded and saved in the background, one save per pool at a
// time; a failure only costs a longer replay next start, so
// it is logged, and the count restarts either way so a pool that cannot be
// saved is not re-encoded on every decision. The caller holds e.lock.
func (s *Store) maybeSnapshot(ctx context.Context, e *entry) {
	if s.snapshots == nil || s.snapshotEvery == 0 || e.sinceSnapshot < s.snapshotDue(e) {
		return
	}
	if !e.saving.CompareAndSwap(false, true) {
		return // the previous save of this pool is still running
	}
	e.sinceSnapshot = 0
	capture, err := e.pool.CaptureSnapshot()
	if err != nil {
		e.saving.Store(false)
		s.log.WarnContext(ctx, "snapshot", "team", e.pool.Team, "err", err)
		return
	}
	org, team, seq := e.pool.Org, e.pool.Team, e.seq
	s.saves.Add(1)
	go func() {
		defer s.saves.Done()
		defer e.saving.Store(false)
		state, err := capture.Encode()
		if err != nil {
			s.log.Warn("snapshot", "team", team, "err", err)
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.snapshots.Save(sctx, org, team, seq, state); err != nil {
			s.log.Warn("snapshot", "team", team, "err", err)
		}
	}()
}

// snapshotDue is how many events a pool folds between snapshots:
// snapshotEvery, or half the answers it remembers when that is more, but
// never more than maxSnapshotStretch times snapshotEvery. A snapshot costs in
// proportion to the answers a pool remembers, so spacing it by their number
// keeps its cost per event flat however busy the pool; the stretch bounds
// the tail a start or a reload must replay. The caller holds e.lock.
func (s *Store) snapshotDue(e *entry) uint64 {
	return max(s.snapshotEvery, min(uint64(e.pool.Remembered()/2), maxSnapshotStretch*s.snapshotEvery))
}

// maxSnapshotStretch bounds how far past snapshotEvery a busy pool's
// snapshots may be spaced (see snapshotDue).
const maxSnapshotStretch = 10

// WaitSnapshots waits for snapshot saves in flight (tests, shutdown).
func (s *Store) WaitSnapshots() { s.saves.Wait() }
