package projector_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
)

// killedBeforeCheckpoint inserts as its sink does but never records a
// checkpoint: a projector killed after each INSERT, before its checkpoint.
type killedBeforeCheckpoint struct{ projector.Sink }

func (killedBeforeCheckpoint) Checkpoint(context.Context, uint64) error {
	return errors.New("killed before the checkpoint")
}

// runStream runs LEDGER's projector into charges_v2 and budget_events_v2
// (which these tests never feed); wrap may change each sink.
func (e *env) runStream(t *testing.T, wrap func(projector.Sink) projector.Sink) (*projector.Projector, func()) {
	t.Helper()
	var tables []projector.Table
	for _, p := range []projector.Projection{projector.Charges, projector.BudgetEvents} {
		tables = append(tables, projector.Table{Projection: p, Sink: wrap(projector.NewClickHouseSink(e.ch, p, subject.Unpartitioned))})
	}
	p, err := projector.NewStream(e.js, eventlog.LedgerStream, tables, e.log, projector.Options{
		BatchSize: 7, FlushInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond, CheckpointInterval: time.Hour,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return p, stop
}

func keep(s projector.Sink) projector.Sink { return s }

// A table that holds nothing does not pin a restart to sequence 0: each
// table resumes from its own checkpoint, and a kill between an INSERT and
// its checkpoint still counts every charge once.
func TestRestartWithAnEmptyTableResumesFromCheckpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokens, charges := e.publish(t, "acme", "design", 30, 10)
	p, stop := e.runStream(t, keep)
	e.waitCaughtUp(t, p)
	require.Zero(t, p.ResumedAfter(), "the first start reads the whole log")
	stop()
	first := e.last

	// A restart reads nothing it has read: budget_events_v2 is still empty.
	p, stop = e.runStream(t, keep)
	e.waitCaughtUp(t, p)
	require.Equal(t, first, p.ResumedAfter(), "the restart resumed after the checkpoint, not from 0")
	stop()

	// Killed after each INSERT, before any checkpoint: the next start
	// resumes after charges_v2's rows and budget_events_v2's last
	// checkpoint, and counts nothing twice.
	more, moreCharges := e.publish(t, "acme", "ops", 20, 7)
	p, stop = e.runStream(t, func(s projector.Sink) projector.Sink { return killedBeforeCheckpoint{s} })
	e.waitCaughtUp(t, p)
	stop()
	tokens, charges = tokens+more, charges+moreCharges
	e.requireTotals(t, tokens, charges)

	p, _ = e.runStream(t, keep)
	e.waitCaughtUp(t, p)
	require.Equal(t, first, p.ResumedAfter(), "budget_events_v2 resumed from its last checkpoint")
	e.requireTotals(t, tokens, charges)
}

// Checkpoints are written while the projector runs, not only on a clean
// stop, and only for tables whose rows lag the stream.
func TestCheckpointsWhileRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish(t, "acme", "design", 12, 10)
	p, err := projector.NewStream(e.js, eventlog.LedgerStream, []projector.Table{
		{Projection: projector.BudgetEvents, Sink: projector.NewClickHouseSink(e.ch, projector.BudgetEvents, subject.Unpartitioned)},
	}, e.log, projector.Options{FlushInterval: 10 * time.Millisecond, CheckpointInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Run(t.Context()) }()
	t.Cleanup(func() { require.NoError(t, <-done) })
	sink := projector.NewClickHouseSink(e.ch, projector.BudgetEvents, subject.Unpartitioned)
	require.Eventually(t, func() bool {
		seq, err := sink.MaxSeq(t.Context())
		return err == nil && seq == e.last
	}, 10*time.Second, 10*time.Millisecond, "budget_events_v2's checkpoint reached the end of the log")
}
