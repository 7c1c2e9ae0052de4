// Package projector projects the LEDGER and USAGE streams into ClickHouse
// exactly once: per table one ordered reader, rows buffered into
// single-partition blocks, each block one INSERT carrying its stream
// sequences, and on (re)start a resume after the highest sequence the table
// already holds. No JetStream ack is needed: ClickHouse is the checkpoint.
package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// Stream is the stream this projector reads.
func (p *Projector) Stream() string { return p.proj.Stream }

// Table is the table this projector writes.
func (p *Projector) Table() string { return p.proj.Table }

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
}

// Projector reads one stream in order and writes one table's rows to a Sink.
type Projector struct {
	js       jetstream.JetStream
	proj     Projection
	attrs    metric.MeasurementOption
	sink     Sink
	log      *slog.Logger
	opts     Options
	lag      metric.Float64Histogram
	rows     metric.Int64Counter
	caughtUp atomic.Uint64
	read     atomic.Uint64
}

// New builds the projector of p into sink; Run starts it.
func New(js jetstream.JetStream, p Projection, sink Sink, log *slog.Logger, opts Options) (*Projector, error) {
	opts.defaults()
	meter := otel.Meter("github.com/tokenmeter/tokenmeter/services/reporting/internal/projector")
	lag, err := meter.Float64Histogram("tokenmeter.reporting.projection_lag",
		metric.WithUnit("s"),
		metric.WithDescription("Time from an event's server time to its projection into ClickHouse, at each flush"))
	if err != nil {
		return nil, fmt.Errorf("projection lag metric: %w", err)
	}
	rows, err := meter.Int64Counter("tokenmeter.reporting.rows_projected",
		metric.WithDescription("Rows inserted into ClickHouse by the projector"))
	if err != nil {
		return nil, fmt.Errorf("rows projected metric: %w", err)
	}
	attrs := metric.WithAttributes(attribute.String("table", p.Table), attribute.String("stream", p.Stream))
	return &Projector{js: js, proj: p, attrs: attrs, sink: sink, log: log.With("table", p.Table),
		opts: opts, lag: lag, rows: rows}, nil
}

// CaughtUpTo is the highest stream sequence whose effect is in the sink (or
// that the projection skips): everything up to it has been projected.
func (p *Projector) CaughtUpTo() uint64 { return p.caughtUp.Load() }

// ReadTo is the highest stream sequence read, buffered or projected.
func (p *Projector) ReadTo() uint64 { return p.read.Load() }

func (p *Projector) advance(seq uint64) {
	for {
		cur := p.caughtUp.Load()
		if seq <= cur || p.caughtUp.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// Run projects until ctx is done, then flushes the block in hand and returns
// nil. A failure (NATS, ClickHouse) restarts the reader from the sink's
// highest sequence after a pause, so no row is lost or written twice.
func (p *Projector) Run(ctx context.Context) error {
	for {
		err := p.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		p.log.ErrorContext(ctx, "projector failed; restarting from ClickHouse's last sequence",
			"stream", p.proj.Stream, "err", err, "retry_in", p.opts.RetryDelay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.opts.RetryDelay):
		}
	}
}

func (p *Projector) runOnce(ctx context.Context) error {
	resume, err := p.sink.MaxSeq(ctx)
	if err != nil {
		return err
	}
	p.advance(resume)
	stream, err := p.js.Stream(ctx, p.proj.Stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", p.proj.Stream, err)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if resume > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = resume + 1
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("ordered consumer on %s: %w", p.proj.Stream, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(min(p.opts.BatchSize, 4096)))
	if err != nil {
		return fmt.Errorf("read %s: %w", p.proj.Stream, err)
	}
	p.log.InfoContext(ctx, "projector started", "stream", p.proj.Stream, "resume_after", resume)

	msgs := make(chan jetstream.Msg)
	pumpErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		for {
			msg, err := iter.Next()
			if err != nil {
				pumpErr <- err
				return
			}
			select {
			case msgs <- msg:
			case <-done:
				return
			}
		}
	}()
	defer func() {
		close(done)
		iter.Stop()
	}()

	buf := NewBuffer(p.opts.BatchSize, p.opts.FlushInterval)
	tick := time.NewTicker(max(p.opts.FlushInterval/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.flush(ctx, buf)
		case err := <-pumpErr:
			return errors.Join(fmt.Errorf("read %s: %w", p.proj.Stream, err), p.flush(ctx, buf))
		case <-tick.C:
			if buf.Due(p.opts.Now()) {
				if err := p.flush(ctx, buf); err != nil {
					return err
				}
			}
		case msg := <-msgs:
			if err := p.handle(ctx, buf, msg); err != nil {
				return err
			}
		}
	}
}

// handle buffers one message, flushing first when the row belongs to another
// partition and after when the block is full.
func (p *Projector) handle(ctx context.Context, buf *Buffer, msg jetstream.Msg) error {
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("message metadata: %w", err)
	}
	seq := meta.Sequence.Stream
	defer p.read.Store(seq)
	ev, err := eventlog.Decode(msg.Data())
	if err != nil {
		// The ledger is the truth; a message no one can decode cannot be
		// projected, and stopping would stop every report with it.
		p.log.ErrorContext(ctx, "skipping undecodable event", "stream", p.proj.Stream, "seq", seq, "err", err)
		buf.Seen(seq, meta.Timestamp)
		p.advanceIfEmpty(buf)
		return nil
	}
	row, ok := p.proj.Map(seq, ev)
	if ok && !buf.Fits(row) {
		if err := p.flush(ctx, buf); err != nil {
			return err
		}
	}
	serverTime := meta.Timestamp
	if ev.GetServerTime() != nil {
		serverTime = ev.GetServerTime().AsTime()
	}
	buf.Seen(seq, serverTime)
	if !ok {
		p.advanceIfEmpty(buf)
		return nil
	}
	buf.Add(row, p.opts.Now())
	if buf.Full() {
		return p.flush(ctx, buf)
	}
	return nil
}

// advanceIfEmpty moves the caught-up position over skipped events when no
// row before them is waiting.
func (p *Projector) advanceIfEmpty(buf *Buffer) {
	if buf.Len() == 0 {
		seq, _ := buf.Position()
		p.advance(seq)
	}
}

// flush inserts the buffered block. It runs to completion even when ctx is
// cancelled, so a stop lets the block in hand land.
func (p *Projector) flush(ctx context.Context, buf *Buffer) error {
	seq, serverTime := buf.Position()
	if buf.Len() == 0 {
		p.advance(seq)
		return nil
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.InsertTimeout)
	defer cancel()
	n := buf.Len()
	if err := p.sink.Insert(ictx, buf.Rows()); err != nil {
		buf.Reset()
		return err
	}
	buf.Reset()
	p.advance(seq)
	p.rows.Add(ictx, int64(n), p.attrs)
	if !serverTime.IsZero() {
		p.lag.Record(ictx, p.opts.Now().Sub(serverTime).Seconds(), p.attrs)
	}
	return nil
}
