package alerting

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/streamset"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// defaultStreamScan is how often new partition streams are looked for.
const defaultStreamScan = 30 * time.Second

// engines are the rule engines of every LEDGER and USAGE stream found:
// one a stream, each with a fold of its own (a pool's events are all in one
// stream, and rule state is per pool).
type engines struct {
	finder streamset.Finder
	// options are every engine's but Fold and Stream.
	options engine.Options

	mu     sync.Mutex
	byName map[string]*engine.Engine
}

// add builds the engine of stream.
func (es *engines) add(js jetstream.JetStream, stream string) (*engine.Engine, error) {
	o := es.options
	o.Stream, o.Log = stream, o.Log.With("source", stream)
	var err error
	if _, ok := subject.PartitionOfStream(stream, eventlog.LedgerStream); ok {
		o.Fold, err = rules.New(o.Defaults)
	} else if _, ok := subject.PartitionOfStream(stream, eventlog.UsageStream); ok {
		// Session rules are not time-based: their alerts come with events.
		o.TickEvery = 0
		o.Fold, err = rules.NewSessions(o.Defaults)
	} else {
		return nil, fmt.Errorf("stream %s: not a LEDGER or USAGE stream", stream)
	}
	if err != nil {
		return nil, err
	}
	e := engine.New(js, o)
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.byName == nil {
		es.byName = map[string]*engine.Engine{}
	}
	es.byName[stream] = e
	return e, nil
}

func (es *engines) of(stream string) *engine.Engine {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.byName[stream]
}

func (es *engines) all() []*engine.Engine {
	es.mu.Lock()
	defer es.mu.Unlock()
	out := make([]*engine.Engine, 0, len(es.byName))
	for _, e := range es.byName {
		out = append(out, e)
	}
	return out
}

// result is how one worker ended.
type result struct {
	name string
	err  error
}

// runWorkers runs the webhook dispatcher and the engine of every stream
// found so far and, until ctx ends, of each partition stream created later.
// done receives each worker's end; started is how many were started
// (final once followDone is closed).
func (s *Service) runWorkers(ctx context.Context) (done chan result, started func() int, followDone chan struct{}) {
	// The dispatcher and two bases of at most 1+MaxPartitions streams each.
	done = make(chan result, 1+2*(subject.MaxPartitions+1))
	var mu sync.Mutex
	n := 0
	start := func(name string, run func(context.Context) error) {
		mu.Lock()
		n++
		mu.Unlock()
		go func() { done <- result{name, run(ctx)} }()
	}
	start("webhooks", s.webhooks.Run)
	var names []string
	for _, e := range s.engines.all() {
		names = append(names, e.Stream())
		start(e.Stream()+" rule engine", e.Run)
	}
	every := s.cfg.StreamScan
	if every <= 0 {
		every = defaultStreamScan
	}
	followDone = make(chan struct{})
	go func() {
		defer close(followDone)
		s.engines.finder.Follow(ctx, every, names, func(stream string) bool {
			e, err := s.engines.add(s.js, stream)
			if err != nil {
				s.log.ErrorContext(ctx, "cannot fold a new stream; retrying", "stream", stream, "err", err)
				return false
			}
			s.log.InfoContext(ctx, "folding a new stream", "stream", stream)
			start(stream+" rule engine", e.Run)
			return true
		}, eventlog.LedgerStream, eventlog.UsageStream)
	}()
	return done, func() int { mu.Lock(); defer mu.Unlock(); return n }, followDone
}

// WaitStream blocks until the rule engine of stream (LEDGER-<p>, USAGE…)
// has folded its message at seq and published its alerts, waiting for the
// stream to be found first.
func (s *Service) WaitStream(ctx context.Context, stream string, seq uint64) error {
	for {
		if e := s.engines.of(stream); e != nil {
			return e.WaitFor(ctx, seq)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for stream %s: %w", stream, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
