// Package engine feeds a source stream (LEDGER or USAGE, or one of their
// partition streams LEDGER-<p>) through a rules fold and publishes the alerts it raises on the ALERTS stream, each exactly
// once across restarts. It also ticks the fold's time-based rules on the
// wall clock once it has caught up with its stream.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/streamlag"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
)

// Fold is a rules core: rules.Rules over LEDGER, rules.Sessions over USAGE.
type Fold interface {
	Apply(seq uint64, ev *v1.Event) []*v1.Alert
	Tick(seq uint64, at time.Time) []*v1.Alert
	SetTeamConfig(org, team string, cfg *rules.Config)
	Source() string
}

// Options configure an engine.
type Options struct {
	Fold Fold
	// Stream is the stream read: the fold's Source (the default) or one of
	// its partitions. A pool's events are all in one stream, so each
	// stream's engine has a fold of its own.
	Stream string
	// Defaults are the rules of teams without settings.
	Defaults rules.Config
	// Settings, when set, give teams their own rules, followed live.
	Settings *store.Settings
	// People, when set, masks the people of every event before the rules
	// see it, so alerts (their texts, ids and the webhooks that carry them)
	// name people as their organisation's setting says when raised.
	People *privacy.Policy
	// TickEvery is how often the wall clock ticks the time-based rules; 0: never.
	TickEvery time.Duration
	// Now is the wall clock of ticks (nil: time.Now).
	Now func() time.Time
	Log *slog.Logger
	// LagInterval is how often the source stream's last sequence and the
	// age of the next event are read for the lag gauges (default 5s).
	LagInterval time.Duration
	// Meter provides the engine's series (default the global provider).
	Meter metric.MeterProvider
}

// Engine folds one source stream into rules and publishes new alerts.
type Engine struct {
	js jetstream.JetStream
	o  Options

	mu        sync.Mutex
	processed uint64
	changed   chan struct{}

	// stream and lag follow how far the engine trails its source.
	stream  *streamlag.Stream
	lag     *streamlag.Reader
	metrics *instruments
}

// New returns an engine with empty rule state; Run rebuilds it from the log.
func New(js jetstream.JetStream, o Options) *Engine {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Stream == "" {
		o.Stream = o.Fold.Source()
	}
	if o.LagInterval <= 0 {
		o.LagInterval = 5 * time.Second
	}
	if o.Meter == nil {
		o.Meter = otel.GetMeterProvider()
	}
	e := &Engine{js: js, o: o, changed: make(chan struct{})}
	// Lag is measured on the real clock: Now may be a test's.
	e.stream = streamlag.New(js, o.Stream, o.LagInterval, nil)
	e.lag = e.stream.Reader(e.Processed)
	return e
}

// Run reads the source stream from its first message, in order, until ctx
// ends. Rule state is rebuilt from the whole stream on every start, but only
// alerts past what the ALERTS stream already holds are published. When ctx
// ends, the message in hand is finished (its alerts published) before Run
// returns nil. Run is meant to be called once.
func (e *Engine) Run(ctx context.Context) error {
	reg, err := e.instrument()
	if err != nil {
		return err
	}
	defer func() { _ = reg.Unregister() }()
	e.zero(ctx)
	var lag sync.WaitGroup
	defer lag.Wait()
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	lag.Go(func() { e.stream.Run(lagCtx) })
	err = e.run(ctx)
	if err != nil && ctx.Err() != nil {
		// Stopped during start-up, or before an alert was stored: not lost,
		// the next start replays the message and publishes it.
		e.o.Log.InfoContext(ctx, "alert engine stopped early", "source", e.o.Stream, "err", err)
		return nil
	}
	return err
}

func (e *Engine) run(ctx context.Context) error {
	source := e.o.Stream
	settings, err := e.loadSettings(ctx)
	if err != nil {
		return err
	}
	h, err := readHistory(ctx, e.js, source)
	if err != nil {
		return err
	}
	stream, err := e.js.Stream(ctx, source)
	if err != nil {
		return fmt.Errorf("stream %s: %w", source, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", source, err)
	}
	e.o.Log.InfoContext(ctx, "alert engine starting", "source", source, "published_up_to", h.seq, "stream_last", info.State.LastSeq)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return fmt.Errorf("consume %s: %w", source, err)
	}
	msgs, readErr := read(ctx, cons)

	var tick <-chan time.Time
	if e.o.TickEvery > 0 {
		t := time.NewTicker(e.o.TickEvery)
		defer t.Stop()
		tick = t.C
	}
	// Publishing outlives ctx so that the message in hand is finished on shutdown.
	work := context.WithoutCancel(ctx)
	caughtUp := info.State.LastSeq == 0
	var last uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return fmt.Errorf("consume %s: %w", source, err)
		case ts, ok := <-settings:
			if ok && ts != nil {
				e.setTeam(ctx, ts)
			}
			if !ok {
				settings = nil
			}
		case msg := <-msgs:
			meta, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("%s message metadata: %w", source, err)
			}
			e.stream.Saw(meta)
			last = meta.Sequence.Stream
			if err := e.handle(work, ctx, msg, last, h); err != nil {
				return err
			}
			caughtUp = caughtUp || (last >= info.State.LastSeq && meta.NumPending == 0)
		case <-tick:
			// Ticking while replaying would judge old state by today's clock,
			// and alerts of a tick behind the history would break its order.
			if !caughtUp || last < h.seq {
				continue
			}
			for _, a := range e.o.Fold.Tick(last, e.o.Now()) {
				if err := e.publish(work, ctx, a); err != nil {
					return err
				}
			}
		}
	}
}

// loadSettings applies every team's stored settings and returns the channel
// of later changes (nil without a settings store).
func (e *Engine) loadSettings(ctx context.Context) (<-chan *store.TeamSettings, error) {
	if e.o.Settings == nil {
		return nil, nil
	}
	ch, err := e.o.Settings.Watch(ctx)
	if err != nil {
		return nil, err
	}
	for {
		select {
		case ts, ok := <-ch:
			if !ok {
				return nil, fmt.Errorf("watch rule settings: %w", errors.Join(errors.New("closed"), ctx.Err()))
			}
			if ts == nil {
				return ch, nil
			}
			e.setTeam(ctx, ts)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (e *Engine) setTeam(ctx context.Context, ts *store.TeamSettings) {
	if ts.Rules == nil {
		e.o.Fold.SetTeamConfig(ts.Org, ts.Team, nil)
		return
	}
	cfg := rules.WithSettings(e.o.Defaults, ts.Rules)
	if err := cfg.Validate(); err != nil {
		e.o.Log.WarnContext(ctx, "ignoring invalid rule settings", "org", ts.Org, "team", ts.Team, "err", err)
		return
	}
	e.o.Fold.SetTeamConfig(ts.Org, ts.Team, &cfg)
}

// read pulls messages in a goroutine so the loop can also tick and follow settings.
func read(ctx context.Context, cons jetstream.Consumer) (<-chan jetstream.Msg, <-chan error) {
	msgs, errs := make(chan jetstream.Msg, 256), make(chan error, 1)
	iter, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		errs <- err
		return msgs, errs
	}
	go func() {
		defer iter.Stop()
		for {
			msg, err := iter.Next(jetstream.NextContext(ctx))
			if err != nil {
				if ctx.Err() == nil {
					errs <- err
				}
				return
			}
			select {
			case msgs <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	return msgs, errs
}

// handle folds one message and publishes the alerts it raises that the
// ALERTS stream does not hold yet. Retries stop when stop ends.
func (e *Engine) handle(work, stop context.Context, msg jetstream.Msg, seq uint64, h history) error {
	defer e.done(seq)
	ev, err := eventlog.Decode(msg.Data())
	if err != nil {
		// A message no rule can read must not stop every alert after it.
		e.o.Log.ErrorContext(work, "skipping undecodable message", "seq", seq, "subject", msg.Subject(), "err", err)
		return nil
	}
	if e.o.People != nil {
		ev = e.o.People.Mask(ev)
	}
	alerts := e.o.Fold.Apply(seq, ev)
	if seq <= h.seq {
		for _, at := range h.ticksAt(seq, ev.GetServerTime().AsTime()) {
			alerts = append(alerts, e.o.Fold.Tick(seq, at)...)
		}
	}
	for _, a := range alerts {
		if h.published(a) {
			continue
		}
		ctx := eventlog.ExtractTrace(work, msg.Headers())
		if err := e.publish(ctx, stop, a); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) done(seq uint64) {
	e.mu.Lock()
	e.processed = seq
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// Stream is the stream the engine reads.
func (e *Engine) Stream() string { return e.o.Stream }

// Processed is the sequence of the last message folded.
func (e *Engine) Processed() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.processed
}

// WaitFor blocks until the message at seq has been folded and its alerts
// published, or ctx ends.
func (e *Engine) WaitFor(ctx context.Context, seq uint64) error {
	for {
		e.mu.Lock()
		processed, changed := e.processed, e.changed
		e.mu.Unlock()
		if processed >= seq {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for seq %d (at %d): %w", seq, processed, ctx.Err())
		}
	}
}
