package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// serveGroup decides the requests that queued up on a busy pool together and
// appends all their events as one JetStream atomic batch (a group commit):
// each decision is made on the pool as the ones before it in the group left
// it, the batch carries the expected last subject sequence on its first
// message, and the callers are answered once the batch is stored. One round
// trip for the group instead of one per decision: on a hot pool, appends no
// longer wait in line for each other's acknowledgements.
//
// Only where batches are cheap (batchesPay): a replicated stream stages an
// atomic batch in memory, while a single-replica file stream stages each in a
// file store of its own (a directory and metadata files: 1-2 ms a batch
// measured on nats-server 2.15, more than a dozen plain appends). Replicated
// streams are also where it matters most: each append there waits for a
// quorum, so a pool appending one decision at a time is held to one decision
// per replication round trip.
//
// The batch is all or nothing. When it is refused (another writer moved the
// subject, an event id the stream already holds, anything else) or its
// outcome is unknown, the pool, which holds the group's events folded ahead
// of the log, is dropped and every request is decided again on its own from
// the log (run), where event ids already stored get their original answer.
func (s *Store) serveGroup(e *entry, group []*request) {
	e.lock <- struct{}{}
	defer func() { <-e.lock }()
	group = answerFailedWhileQueued(e, group)
	if len(group) == 0 {
		return
	}
	errs := make([]error, len(group))
	ok, timedOut := s.commitGroup(e, group, errs)
	switch {
	case ok:
		s.grouped.Add(uint64(len(group)))
	case timedOut != nil:
		// The log did not answer within the append timeout: deciding each
		// again from it would hold the pool for a timeout per request. Each
		// caller retries with its event id, which finds a stored outcome.
		e.loaded = false
		noteLogFailure(e, timedOut)
		for i, r := range group {
			errs[i] = eventlog.Unavailable(r.ctx, timedOut)
		}
	default:
		s.regrouped.Add(uint64(len(group)))
		retries.Add(context.Background(), int64(len(group)))
		e.loaded = false
		for i, r := range group {
			if errs[i] = failedWhileQueued(e, r); errs[i] == nil {
				errs[i] = s.run(e, r)
				noteLogFailure(e, errs[i])
			}
		}
	}
	for i, r := range group {
		r.done <- errs[i]
	}
}

// answerFailedWhileQueued answers the group's requests that failedWhileQueued
// refuses and returns the others, in order. The caller holds e.lock.
func answerFailedWhileQueued(e *entry, group []*request) []*request {
	kept := group[:0]
	for _, r := range group {
		if err := failedWhileQueued(e, r); err != nil {
			r.done <- err
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// batchesPay reports whether a LEDGER stream stages atomic batches in
// memory: replicated, or in memory itself.
func batchesPay(stream jetstream.Stream) bool {
	cfg := stream.CachedInfo().Config
	// A server older than 2.12 knows no atomic batches: it would store a
	// batch's messages one by one, all but the first unguarded. It does not
	// echo the setting back either.
	return cfg.AllowAtomicPublish && (cfg.Replicas > 1 || cfg.Storage == jetstream.MemoryStorage)
}

// commitGroup decides and appends the group; false means nothing of it may be
// trusted and errs is to be filled again, timedOut (wrapping ErrLogTimeout)
// that the log did not acknowledge the batch in time. The caller holds e.lock.
func (s *Store) commitGroup(e *entry, group []*request, errs []error) (ok bool, timedOut error) {
	defer func() {
		if p := recover(); p != nil {
			ok = false // a decision panicked: run reports it to its caller
		}
	}()
	// The group's work is no single caller's: one caller giving up must not
	// fail the others' batch (it still gets its error below). The append
	// timeout bounds its catch-up and its append instead, as the pool is held.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(group[0].ctx), s.js.Options().DefaultTimeout)
	defer cancel()
	cctx, ccancel := context.WithTimeout(ctx, s.appendTimeout)
	defer ccancel()
	err := s.place(cctx, e, true)
	if err == nil {
		err = s.catchUp(cctx, e, e.subject, !e.loaded)
	}
	if err != nil {
		if errors.Is(err, eventlog.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			return false, fmt.Errorf("load pool %s/%s for a group of %d within %s: %w", e.pool.Org, e.pool.Team, len(group), s.appendTimeout, ErrLogTimeout)
		}
		return false, nil
	}
	base, subject := e.seq, e.subject
	var msgs []*nats.Msg
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		// Each decision is made on the pool as the ones before it left it,
		// folded ahead of the log (undone by a reload if the batch is not
		// stored).
		events, err := e.pool.Decide(r.now, r.decide)
		if errors.Is(err, pool.ErrRefused) {
			return false, nil
		}
		if err != nil {
			errs[i] = err
			continue
		}
		for _, ev := range events {
			msg, err := eventlog.NewMsg(r.ctx, subject, ev)
			if err != nil {
				return false, nil
			}
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) == 0 {
		return true, nil // every answer came from the pool as it is
	}
	msgs[0].Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(base, 10))
	pctx, pcancel := context.WithTimeout(ctx, s.appendTimeout)
	defer pcancel()
	ack, err := jetstreamext.PublishMsgBatch(pctx, s.js, msgs, jetstreamext.BatchFlowControl{AckFirst: false})
	if err != nil && ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
		return false, fmt.Errorf("append a group of %d on %s: no acknowledgement within %s: %w", len(group), subject, s.appendTimeout, ErrLogTimeout)
	}
	if err != nil || ack.BatchSize != uint64(len(msgs)) {
		countConflict(ctx, err)
		if err != nil && !eventlog.IsConflict(err) { // a conflict is another replica's write: expected
			s.log.WarnContext(ctx, "group commit refused; deciding one by one", "subject", subject, "decisions", len(group), "err", err)
		}
		return false, nil
	}
	e.seq = ack.Sequence
	e.sinceSnapshot += uint64(len(msgs))
	s.maybeSnapshot(ctx, e)
	return true, nil
}
