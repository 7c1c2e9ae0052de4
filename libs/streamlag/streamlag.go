// Package streamlag tells how far the readers of a JetStream stream trail
// it: in events (the stream's last sequence minus a reader's position) and
// in time (the age of the oldest event a reader has not processed yet).
//
// Observable gauges read it on every scrape, so it never does I/O there: the
// last sequence comes from the metadata of the messages readers receive
// (their sequence plus what is pending behind them) and from the stream's
// info, which Run refreshes every interval together with the time of each
// lagging reader's next event. A reader that is stuck (its store down, its
// loop blocked) therefore still shows its lag growing.
package streamlag

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream follows one stream for the readers registered on it.
type Stream struct {
	js    jetstream.JetStream
	name  string
	every time.Duration
	now   func() time.Time
	last  atomic.Uint64

	mu      sync.Mutex
	readers []*Reader
}

// Reader is one reader's position on the stream.
type Reader struct {
	s   *Stream
	pos func() uint64

	mu sync.Mutex
	// next is the first sequence past the position at the latest refresh
	// and at the time the stream stored it (zero when caught up then).
	next uint64
	at   time.Time
}

// New follows stream name; Run refreshes it every interval (at least 10ms).
// now is the clock of delays (nil: time.Now).
func New(js jetstream.JetStream, name string, every time.Duration, now func() time.Time) *Stream {
	if now == nil {
		now = time.Now
	}
	return &Stream{js: js, name: name, every: max(every, 10*time.Millisecond), now: now}
}

// Reader registers a reader whose position (the highest sequence it has
// processed, with everything before it) pos returns; pos must be cheap.
func (s *Stream) Reader(pos func() uint64) *Reader {
	r := &Reader{s: s, pos: pos}
	s.mu.Lock()
	s.readers = append(s.readers, r)
	s.mu.Unlock()
	return r
}

// Saw notes a message a reader received: the stream held at least its
// sequence plus the messages pending behind it.
func (s *Stream) Saw(meta *jetstream.MsgMetadata) {
	if meta != nil {
		s.raise(meta.Sequence.Stream + meta.NumPending)
	}
}

func (s *Stream) raise(last uint64) {
	for {
		cur := s.last.Load()
		if last <= cur || s.last.CompareAndSwap(cur, last) {
			return
		}
	}
}

// Last is the stream's highest sequence known.
func (s *Stream) Last() uint64 { return s.last.Load() }

// Lag is how many events the stream holds past the reader's position, and
// how long the first of them has been waiting (0 when caught up). The age
// is that of the first event past the position at the latest refresh: while
// the reader moves it may overstate by what the reader did since.
func (r *Reader) Lag() (events uint64, delay time.Duration) {
	pos, last := r.pos(), r.s.last.Load()
	if last <= pos {
		return 0, 0
	}
	r.mu.Lock()
	at := r.at
	r.mu.Unlock()
	if at.IsZero() {
		// The reader was caught up at the latest refresh: what waits now
		// has waited less than an interval.
		return last - pos, 0
	}
	return last - pos, max(r.s.now().Sub(at), 0)
}

// Run refreshes the stream's last sequence and the readers' next events
// every interval until ctx ends. Failures are kept for the next round: the
// figures then stay as they were, and the readers report their own outages.
func (s *Stream) Run(ctx context.Context) {
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, max(s.every, time.Second))
		_ = s.Refresh(rctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Refresh reads the stream's info and, for each reader behind it whose
// next event it does not know yet, that event's time.
func (s *Stream) Refresh(ctx context.Context) error {
	stream, err := s.js.Stream(ctx, s.name)
	if err != nil {
		return fmt.Errorf("stream %s: %w", s.name, err)
	}
	state := stream.CachedInfo().State
	s.raise(state.LastSeq)
	s.mu.Lock()
	readers := append([]*Reader(nil), s.readers...)
	s.mu.Unlock()
	var errs []error
	for _, r := range readers {
		errs = append(errs, r.refresh(ctx, stream, state))
	}
	return errors.Join(errs...)
}

// refresh learns the time of the first event past r's position.
func (r *Reader) refresh(ctx context.Context, stream jetstream.Stream, state jetstream.StreamState) error {
	pos := r.pos()
	r.mu.Lock()
	known := r.next == pos+1 && !r.at.IsZero()
	if pos >= r.s.last.Load() {
		r.next, r.at = 0, time.Time{}
		known = true
	}
	r.mu.Unlock()
	if known {
		return nil
	}
	var at time.Time
	if pos+1 < state.FirstSeq {
		// Gone from the stream before the reader got to it.
		at = state.FirstTime
	} else {
		// The first stored at or after pos+1: a deleted message leaves a gap.
		msg, err := stream.GetMsg(ctx, pos+1, jetstream.WithGetMsgSubject(">"))
		if err != nil {
			return fmt.Errorf("stream %s at %d: %w", r.s.name, pos+1, err)
		}
		at = msg.Time
	}
	r.mu.Lock()
	r.next, r.at = pos+1, at
	r.mu.Unlock()
	return nil
}
