// Package projector projects the LEDGER and USAGE streams into ClickHouse
// exactly once: per stream one ordered reader that decodes each event once
// and offers it to every table of the stream; per table its own buffer of
// single-partition blocks, its own ordered writer (each block one INSERT
// carrying its stream sequences) and its own resume point: the higher of
// the highest sequence the table holds and its checkpoint, the position it
// records past its last row (checkpoint.go). No JetStream ack is needed:
// ClickHouse is the checkpoint.
package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/libs/outage"
	"github.com/tokenmeter/tokenmeter/libs/streamlag"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// Options tune a projector; zero values take the defaults.
type Options struct {
	// BatchSize flushes a block at this many rows (default 5000).
	BatchSize int
	// FlushInterval flushes a block whose oldest row is this old (default 200ms).
	FlushInterval time.Duration
	// InsertTimeout bounds one insert (default 30s).
	InsertTimeout time.Duration
	// RetryDelay is the pause before restarting after a failure (default 1s).
	RetryDelay time.Duration
	// Now is the clock for flush timing and lag (default time.Now).
	Now func() time.Time
	// Decoders decode and map events in parallel (default GOMAXPROCS, at most 4).
	Decoders int
	// CheckpointInterval is how often a table's position past its last
	// row is recorded (default 10s), and on every clean stop.
	CheckpointInterval time.Duration
	// LagInterval is how often the stream's last sequence and the age of
	// each table's next event are read for the lag gauges (default 5s).
	LagInterval time.Duration
	// Meter provides the projector's series (default the global provider).
	Meter metric.MeterProvider
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
	}
	if o.InsertTimeout <= 0 {
		o.InsertTimeout = 30 * time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Decoders <= 0 {
		o.Decoders = min(runtime.GOMAXPROCS(0), 4)
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.LagInterval <= 0 {
		o.LagInterval = 5 * time.Second
	}
	if o.Meter == nil {
		o.Meter = otel.GetMeterProvider()
	}
}

// Table is one projection and the sink that stores its rows.
type Table struct {
	Projection Projection
	Sink       Sink
}

// Projector reads one stream in order and writes the rows of each of its
// tables to that table's Sink.
type Projector struct {
	js      jetstream.JetStream
	stream  string
	writers []*writer
	log     *slog.Logger
	opts    Options
	read    atomic.Uint64
	resumed atomic.Uint64
	metrics *instruments
	// lag follows how far each table trails the stream.
	lag *streamlag.Stream
	// state logs the projector's stops (NATS or ClickHouse gone) and resumptions.
	state *outage.Tracker
	// fence, set for a run under a lease, is when its writes must be done by.
	fence func() time.Time
	// discarded remembers the events found missing, so a restart before
	// the projector moves past them does not count them again.
	discarded  discarded
	streamAttr metric.MeasurementOption
}

// New builds the projector of the single table p into sink; Run starts it.
func New(js jetstream.JetStream, p Projection, sink Sink, log *slog.Logger, opts Options) (*Projector, error) {
	return NewStream(js, p.Stream, []Table{{Projection: p, Sink: sink}}, log, opts)
}

// NewStream builds the projector of every table of stream: the tables'
// stream (LEDGER, USAGE) or one of its partitions (LEDGER-<p>), whose sinks
// write that partition. Run starts it.
func NewStream(js jetstream.JetStream, stream string, tables []Table, log *slog.Logger, opts Options) (*Projector, error) {
	if len(tables) == 0 {
		return nil, fmt.Errorf("projector of %s: no table", stream)
	}
	opts.defaults()
	in, err := newInstruments(opts.Meter)
	if err != nil {
		return nil, err
	}
	p := &Projector{js: js, stream: stream, opts: opts, metrics: in, lag: streamlag.New(js, stream, opts.LagInterval, opts.Now),
		streamAttr: metric.WithAttributes(attribute.String("stream", stream))}
	var names []string
	for _, t := range tables {
		if _, ok := subject.PartitionOfStream(stream, t.Projection.Stream); !ok {
			return nil, fmt.Errorf("projector of %s: table %s reads %s", stream, t.Projection.Table, t.Projection.Stream)
		}
		names = append(names, t.Projection.Table)
		w := &writer{proj: t.Projection, sink: t.Sink, metrics: in,
			attrs:     metric.WithAttributes(attribute.String("table", t.Projection.Table), attribute.String("stream", stream)),
			tableAttr: metric.WithAttributes(attribute.String("table", t.Projection.Table)),
		}
		w.lag = p.lag.Reader(w.caughtUp.Load)
		p.writers = append(p.writers, w)
	}
	p.log = log.With("stream", stream, "tables", strings.Join(names, ","))
	p.state = outage.New(p.log, "projector stopped; restarting from ClickHouse's last sequences until it can", "projector resumed")
	return p, nil
}

// Stream is the stream this projector reads.
func (p *Projector) Stream() string { return p.stream }

// Tables are the tables this projector writes.
func (p *Projector) Tables() []string {
	out := make([]string, len(p.writers))
	for i, w := range p.writers {
		out[i] = w.proj.Table
	}
	return out
}

// CaughtUpTo is the highest stream sequence whose effect is in every table
// (or that the tables skip): everything up to it has been projected.
func (p *Projector) CaughtUpTo() uint64 {
	low := p.writers[0].caughtUp.Load()
	for _, w := range p.writers[1:] {
		low = min(low, w.caughtUp.Load())
	}
	return low
}

// TableCaughtUpTo is CaughtUpTo of one table (0 for a table it does not write).
func (p *Projector) TableCaughtUpTo(table string) uint64 {
	for _, w := range p.writers {
		if w.proj.Table == table {
			return w.caughtUp.Load()
		}
	}
	return 0
}

// ReadTo is the highest stream sequence read, buffered or projected.
func (p *Projector) ReadTo() uint64 { return p.read.Load() }

// ResumedAfter is the sequence the latest run started reading after: what
// a restart did not read again.
func (p *Projector) ResumedAfter() uint64 { return p.resumed.Load() }

// Run projects until ctx is done, then lets the blocks in hand land and
// returns nil. A failure (NATS, ClickHouse) restarts the reader from the
// tables' highest sequences after a pause, so no row is lost or written twice.
func (p *Projector) Run(ctx context.Context) error { return p.RunFenced(ctx, nil) }

// RunFenced is Run for a holder of a lease (libs/lease): every insert and
// checkpoint ends by fence's time, so none lands once another replica may
// have taken the stream over. Runs must not overlap.
func (p *Projector) RunFenced(ctx context.Context, fence func() time.Time) error {
	p.fence = fence
	reg, err := p.observeLag()
	if err != nil {
		return err
	}
	defer func() { _ = reg.Unregister() }()
	p.zero(ctx)
	var lag sync.WaitGroup
	defer lag.Wait()
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	lag.Go(func() { p.lag.Run(lagCtx) })
	for {
		err := p.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// One line when it stops, one when it is back: not one a retry.
		p.state.Fail(ctx, err, "retry_every", p.opts.RetryDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.opts.RetryDelay):
		}
	}
}

func (p *Projector) runOnce(ctx context.Context) (err error) {
	start, err := p.resume(ctx)
	if err != nil {
		return err
	}
	iter, err := p.open(ctx, start)
	if err != nil {
		return err
	}
	if p.state.Down() {
		p.state.OK(ctx, "resume_after", start)
	} else {
		p.log.InfoContext(ctx, "projector started", "resume_after", start)
	}
	failed, finish := p.startWriters(ctx)
	defer func() { err = finish(err) }()
	ordered, stopReading := p.startReaders(ctx, iter)
	defer stopReading()
	return p.project(ctx, ordered, failed)
}

// resume resets each table's writer to the table's own position and
// returns where reading starts: the lowest of them.
func (p *Projector) resume(ctx context.Context) (start uint64, err error) {
	start = ^uint64(0)
	for _, w := range p.writers {
		if w.resume, err = w.sink.MaxSeq(ctx); err != nil {
			return 0, err
		}
		w.advance(w.resume)
		w.buf = NewBuffer(p.opts.BatchSize, p.opts.FlushInterval)
		w.pending.Store(0)
		w.proven.Store(w.resume)
		start = min(start, w.resume)
	}
	p.resumed.Store(start)
	return start, nil
}

// open reads the stream from the message after start.
func (p *Projector) open(ctx context.Context, start uint64) (jetstream.MessagesContext, error) {
	stream, err := p.js.Stream(ctx, p.stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", p.stream, err)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if start > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start + 1
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ordered consumer on %s: %w", p.stream, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(min(2*p.opts.BatchSize, 8192)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.stream, err)
	}
	return iter, nil
}

// startWriters runs one writer goroutine per table, which inserts its
// blocks in order while the reader goes on (a failed block stops its writer,
// and the restart resumes each table after its own position), and the
// checkpointer. finish stops them and joins their failures to err.
func (p *Projector) startWriters(ctx context.Context) (failed chan error, finish func(err error) error) {
	failed = make(chan error, len(p.writers))
	var writers sync.WaitGroup
	for _, w := range p.writers {
		w.blocks = make(chan block, 1)
		w.failed = failed
		writers.Go(func() { w.write(ctx, p.opts, p.writeContext) })
	}
	cpCtx, stopCheckpoints := context.WithCancel(ctx)
	writers.Go(func() { p.checkpoints(cpCtx) })
	return failed, func(err error) error {
		// Let the blocks in hand land (a stop is not a failure), then wait
		// for every writer and record where each table stands.
		if err == nil {
			for _, w := range p.writers {
				p.cut(w)
			}
		}
		for _, w := range p.writers {
			close(w.blocks)
		}
		stopCheckpoints()
		writers.Wait()
		if err == nil {
			if cerr := p.checkpoint(ctx); cerr != nil {
				p.log.WarnContext(ctx, "checkpoint on stop failed; the next start re-reads from the tables' last rows", "err", cerr)
			}
		}
		for {
			select {
			case e := <-failed:
				err = errors.Join(err, e)
			default:
				return err
			}
		}
	}
}

// project applies the decoded batches to the tables' buffers in stream
// order, and flushes them as they fill or age, until ctx ends or a read or
// a writer fails.
func (p *Projector) project(ctx context.Context, ordered chan *readBatch, failed chan error) error {
	tick := time.NewTicker(max(p.opts.FlushInterval/4, time.Millisecond))
	defer tick.Stop()
	last := p.resumed.Load() // the last sequence read: a jump past last+1 is events discarded
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-failed:
			return e
		case <-tick.C:
			p.tick(p.opts.Now())
		case b := <-ordered:
			select {
			case <-b.done:
			case <-ctx.Done():
				return nil
			}
			now := p.opts.Now()
			for i := range b.out {
				p.noteDiscarded(ctx, last, b.out[i].seq)
				last = b.out[i].seq
				p.apply(&b.out[i], now)
			}
			if b.err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("read %s: %w", p.stream, b.err)
			}
			p.tick(now)
		}
	}
}

// tick cuts every block that is due and moves idle tables' positions on.
func (p *Projector) tick(now time.Time) {
	for _, w := range p.writers {
		switch {
		case w.buf.Due(now):
			p.cut(w)
		case w.buf.Len() == 0 && w.pending.Load() == 0:
			seq, _ := w.buf.Position()
			w.advance(seq)
		}
	}
}

// apply offers one decoded event to every table's buffer.
func (p *Projector) apply(d *decoded, now time.Time) {
	defer p.read.Store(d.seq)
	for i, w := range p.writers {
		if d.seq <= w.resume {
			continue // already in this table
		}
		row := d.rows[i]
		if row == nil {
			w.skip(d.seq, d.at)
			continue
		}
		if !w.buf.Fits(row) {
			p.cut(w)
		}
		w.buf.Seen(d.seq, d.at)
		w.buf.Add(row, now)
		if w.buf.Full() {
			p.cut(w)
		}
	}
}

// cut hands w's buffered rows to its writer as one block; with no rows it
// only moves w's position on when nothing is pending.
func (p *Projector) cut(w *writer) {
	seq, at := w.buf.Position()
	if w.buf.Len() == 0 {
		if w.pending.Load() == 0 {
			w.advance(seq)
		}
		return
	}
	b := block{rows: w.buf.Take(), seq: seq, at: at}
	w.pending.Add(1)
	// Never blocks for long: the writer takes blocks until its channel
	// closes, even after a failure (it then drops them).
	w.blocks <- b
}

// writeContext bounds one write: detached from ctx (a stop lets the block
// in hand land) but ended by the insert timeout and by the lease's fence.
func (p *Projector) writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(p.opts.InsertTimeout)
	if p.fence != nil {
		if f := p.fence(); f.Before(deadline) {
			deadline = f
		}
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}
