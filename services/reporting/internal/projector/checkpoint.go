package projector

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// checkpoints records every table's position until ctx ends. A failure is
// logged once per run and retried at the next tick: rows stay exactly-once
// either way, only the cost of the next start depends on it.
func (p *Projector) checkpoints(ctx context.Context) {
	tick := time.NewTicker(p.opts.CheckpointInterval)
	defer tick.Stop()
	warned := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := p.checkpoint(ctx); err != nil && ctx.Err() == nil {
			level := slog.LevelWarn
			if warned {
				level = slog.LevelDebug
			}
			p.log.Log(ctx, level, "checkpoint failed; retrying", "err", err, "retry_in", p.opts.CheckpointInterval)
			warned = true
		}
	}
}

// checkpoint records, for each table, the position everything up to which
// it has projected, where its own rows do not prove it already (it skipped
// the events since its last row).
func (p *Projector) checkpoint(ctx context.Context) error {
	var errs []error
	for _, w := range p.writers {
		pos := w.caughtUp.Load()
		if pos <= w.proven.Load() {
			continue
		}
		cctx, cancel := p.writeContext(ctx)
		err := w.sink.Checkpoint(cctx, pos)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.prove(pos)
	}
	return errors.Join(errs...)
}

// prove notes that ClickHouse shows every event up to seq projected.
func (w *writer) prove(seq uint64) {
	for {
		cur := w.proven.Load()
		if seq <= cur || w.proven.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// Stored is the position ClickHouse shows every table of the stream
// projected up to (the lowest of their resume points), whichever replica
// projects it.
func (p *Projector) Stored(ctx context.Context) (uint64, error) {
	low := ^uint64(0)
	for _, w := range p.writers {
		seq, err := w.sink.MaxSeq(ctx)
		if err != nil {
			return 0, err
		}
		low = min(low, seq)
	}
	return low, nil
}
