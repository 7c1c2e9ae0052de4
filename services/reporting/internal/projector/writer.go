package projector

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/libs/streamlag"
)

// block is one INSERT: rows of one partition, and the stream position
// (highest sequence seen and its server time) it completes.
type block struct {
	rows []Record
	seq  uint64
	at   time.Time
}

// writer is one table of a stream projector.
type writer struct {
	proj    Projection
	sink    Sink
	metrics *instruments
	// attrs label the table's series with table and stream, tableAttr
	// with the table alone.
	attrs, tableAttr metric.MeasurementOption
	lag              *streamlag.Reader
	caughtUp         atomic.Uint64

	// proven is the highest sequence ClickHouse proves projected: the
	// table's last row or its checkpoint.
	proven atomic.Uint64

	// Owned by the reader during a run.
	buf    *Buffer
	resume uint64
	// Blocks handed to the writer goroutine and not yet stored.
	pending atomic.Int32
	blocks  chan block
	failed  chan error
}

func (w *writer) advance(seq uint64) {
	for {
		cur := w.caughtUp.Load()
		if seq <= cur || w.caughtUp.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// skip records that the table does not hold the event at seq.
func (w *writer) skip(seq uint64, serverTime time.Time) {
	w.buf.Seen(seq, serverTime)
	if w.buf.Len() == 0 && w.pending.Load() == 0 {
		w.advance(seq)
	}
}

// write inserts w's blocks in order until its channel closes. After a
// failure it stores nothing more (a later block would move max(seq) past
// the lost one) and only drains.
func (w *writer) write(ctx context.Context, opts Options, bound func(context.Context) (context.Context, context.CancelFunc)) {
	failed := false
	for b := range w.blocks {
		if failed {
			continue
		}
		if err := w.insert(ctx, b.rows, bound); err != nil {
			failed = true
			w.failed <- err
			continue
		}
		// Counted before the position moves: whoever sees the table caught
		// up sees its rows counted.
		w.metrics.rows.Add(ctx, int64(len(b.rows)), w.attrs)
		if !b.at.IsZero() {
			w.metrics.lag.Record(ctx, opts.Now().Sub(b.at).Seconds(), w.attrs)
		}
		w.advance(b.seq)
		w.prove(b.rows[len(b.rows)-1].Sequence())
		w.pending.Add(-1)
	}
}

// insert stores one block within bound's deadline, and measures it.
func (w *writer) insert(ctx context.Context, rows []Record, bound func(context.Context) (context.Context, context.CancelFunc)) error {
	start := time.Now()
	ictx, cancel := bound(ctx)
	err := w.sink.Insert(ictx, rows)
	cancel()
	w.metrics.insert.Record(ctx, time.Since(start).Seconds(), w.tableAttr)
	if err != nil {
		w.metrics.insertErrs.Add(ctx, 1, w.tableAttr)
	}
	return err
}
