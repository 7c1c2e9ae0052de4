package projector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// startReaders reads the stream in batches that decoders turn into rows in
// parallel; ordered hands the batches on in stream order.
func (p *Projector) startReaders(ctx context.Context, iter jetstream.MessagesContext) (ordered chan *readBatch, stop func()) {
	readCtx, stopReading := context.WithCancel(ctx)
	var readers sync.WaitGroup
	context.AfterFunc(readCtx, iter.Stop)
	ordered, jobs := make(chan *readBatch, p.opts.Decoders+1), make(chan *readBatch, p.opts.Decoders)
	readers.Go(func() { p.pull(readCtx, iter, ordered, jobs) })
	for range p.opts.Decoders {
		readers.Go(func() {
			for b := range jobs {
				p.decode(ctx, b)
				close(b.done)
			}
		})
	}
	return ordered, func() {
		stopReading()
		iter.Stop()
		readers.Wait()
	}
}

// decodeBatch is the most messages one decoder job holds.
const decodeBatch = 256

// readBatch is a run of consecutive messages and, once done is closed, the
// rows each table makes of them. err ends the stream after the messages.
type readBatch struct {
	msgs []jetstream.Msg
	out  []decoded
	err  error
	done chan struct{}
}

// decoded is one event turned into a row per table (nil where the table
// does not hold it, or the event could not be decoded).
type decoded struct {
	seq  uint64
	at   time.Time
	rows []Record
}

// pull reads the stream into batches: each batch goes to ordered (the
// apply order) and to jobs (a decoder). A batch takes what arrives within a
// millisecond of its first message, up to decodeBatch.
func (p *Projector) pull(ctx context.Context, iter jetstream.MessagesContext, ordered, jobs chan<- *readBatch) {
	defer close(jobs)
	for {
		b := &readBatch{done: make(chan struct{})}
		msg, err := iter.Next()
		if err != nil {
			b.err = err
		} else {
			b.msgs = append(make([]jetstream.Msg, 0, decodeBatch), msg)
			for len(b.msgs) < decodeBatch {
				msg, err := iter.Next(jetstream.NextMaxWait(time.Millisecond))
				if err != nil {
					if !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
						b.err = err
					}
					break
				}
				b.msgs = append(b.msgs, msg)
			}
		}
		select {
		case ordered <- b:
		case <-ctx.Done():
			return
		}
		if len(b.msgs) == 0 {
			close(b.done)
		} else {
			select {
			case jobs <- b:
			case <-ctx.Done():
				close(b.done)
				return
			}
		}
		if b.err != nil {
			return
		}
	}
}

// decode turns b's messages into rows: each event is decoded once and
// mapped by every table that does not hold it yet.
func (p *Projector) decode(ctx context.Context, b *readBatch) {
	b.out = make([]decoded, 0, len(b.msgs))
	for _, msg := range b.msgs {
		meta, err := msg.Metadata()
		if err != nil {
			b.err = fmt.Errorf("message metadata: %w", err)
			return
		}
		p.lag.Saw(meta)
		d := decoded{seq: meta.Sequence.Stream, at: meta.Timestamp, rows: make([]Record, len(p.writers))}
		ev, err := eventlog.Decode(msg.Data())
		if err != nil {
			// The ledger is the truth; a message no one can decode cannot be
			// projected, and stopping would stop every report with it.
			p.log.ErrorContext(ctx, "skipping undecodable event", "seq", d.seq, "err", err)
			b.out = append(b.out, d)
			continue
		}
		if ev.GetServerTime() != nil {
			d.at = ev.GetServerTime().AsTime()
		}
		for i, w := range p.writers {
			if d.seq > w.resume {
				if row, ok := w.proj.Map(d.seq, ev); ok {
					d.rows[i] = row
				}
			}
		}
		b.out = append(b.out, d)
	}
}
