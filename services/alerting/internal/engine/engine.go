// Package engine feeds the LEDGER stream through the alert rules and
// publishes the alerts they raise on the ALERTS stream, each exactly once
// across restarts.
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
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// How long one publish attempt may take, and the backoff between attempts.
const (
	publishTimeout = 5 * time.Second
	retryMin       = 100 * time.Millisecond
	retryMax       = 5 * time.Second
)

// Engine folds the LEDGER stream into rules and publishes new alerts.
type Engine struct {
	js    jetstream.JetStream
	rules *rules.Rules
	log   *slog.Logger

	mu        sync.Mutex
	processed uint64
	changed   chan struct{}
}

// New returns an engine with empty rule state; Run rebuilds it from the log.
func New(js jetstream.JetStream, cfg rules.Config, log *slog.Logger) (*Engine, error) {
	r, err := rules.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Engine{js: js, rules: r, log: log, changed: make(chan struct{})}, nil
}

// Run reads the LEDGER stream from its first message, in order, until ctx
// ends. Rule state is rebuilt from the whole stream on every start, but only
// alerts past what the ALERTS stream already holds are published. When ctx
// ends, the message in hand is finished (its alerts published) before Run
// returns nil. Run is meant to be called once.
func (e *Engine) Run(ctx context.Context) error {
	err := e.run(ctx)
	if err != nil && ctx.Err() != nil {
		// Stopped during start-up, or before an alert was stored: not lost,
		// the next start replays the message and publishes it.
		e.log.InfoContext(ctx, "alert engine stopped early", "err", err)
		return nil
	}
	return err
}

func (e *Engine) run(ctx context.Context) error {
	mark, err := readWatermark(ctx, e.js)
	if err != nil {
		return err
	}
	e.log.InfoContext(ctx, "alert engine starting", "published_up_to_ledger_seq", mark.seq)
	ledger, err := e.js.Stream(ctx, eventlog.LedgerStream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", eventlog.LedgerStream, err)
	}
	cons, err := ledger.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return fmt.Errorf("consume %s: %w", eventlog.LedgerStream, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("consume %s: %w", eventlog.LedgerStream, err)
	}
	defer iter.Stop()
	// Publishing outlives ctx so that the message in hand is finished on shutdown.
	work := context.WithoutCancel(ctx)
	for {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("consume %s: %w", eventlog.LedgerStream, err)
		}
		if err := e.handle(work, ctx, msg, mark); err != nil {
			return err
		}
	}
}

// handle folds one LEDGER message and publishes the alerts it raises that
// the ALERTS stream does not hold yet. Retries stop when stop ends.
func (e *Engine) handle(work, stop context.Context, msg jetstream.Msg, mark watermark) error {
	meta, err := msg.Metadata()
	if err != nil {
		return fmt.Errorf("ledger message metadata: %w", err)
	}
	seq := meta.Sequence.Stream
	defer e.done(seq)
	ev, err := eventlog.Decode(msg.Data())
	if err != nil {
		// A message no rule can read must not stop every alert after it.
		e.log.ErrorContext(work, "skipping undecodable ledger message", "seq", seq, "subject", msg.Subject(), "err", err)
		return nil
	}
	for _, a := range e.rules.Apply(seq, ev) {
		if mark.published(a) {
			continue
		}
		ctx := eventlog.ExtractTrace(work, msg.Headers())
		if err := e.publish(ctx, stop, a); err != nil {
			return err
		}
	}
	return nil
}

// publish appends a to the ALERTS stream, retrying until it is stored or stop ends.
func (e *Engine) publish(ctx, stop context.Context, a *v1.Alert) error {
	ctx, span := otel.Tracer("tokenmeter/alerting").Start(ctx, "alerting.raise",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("tokenmeter.alert_id", a.GetAlertId()),
			attribute.String("tokenmeter.org", a.GetOrgId()),
			attribute.String("tokenmeter.team", a.GetTeamId()),
			attribute.Int64("tokenmeter.ledger_seq", int64(a.GetSourceSequence())),
		))
	defer span.End()
	ev := &v1.Event{
		EventId:    a.GetAlertId(),
		OrgId:      a.GetOrgId(),
		TeamId:     a.GetTeamId(),
		ServerTime: a.GetRaisedAt(),
		Actor:      &v1.Actor{Kind: "system", Id: "alerting"},
		Payload:    &v1.Event_Alert{Alert: a},
	}
	subject := eventlog.AlertSubject(a.GetOrgId(), a.GetTeamId(), a.GetKind())
	wait := retryMin
	for {
		actx, cancel := context.WithTimeout(ctx, publishTimeout)
		res, err := eventlog.Append(actx, e.js, subject, ev, nil)
		cancel()
		if err == nil {
			span.SetAttributes(attribute.Int64("tokenmeter.alert_seq", int64(res.Sequence)))
			e.log.InfoContext(ctx, "alert raised", "alert_id", a.GetAlertId(), "kind", a.GetKind(),
				"org", a.GetOrgId(), "team", a.GetTeamId(), "alert_seq", res.Sequence, "duplicate", res.Duplicate)
			return nil
		}
		e.log.WarnContext(ctx, "publish alert failed; retrying", "alert_id", a.GetAlertId(), "err", err, "in", wait)
		select {
		case <-stop.Done():
			span.SetStatus(codes.Error, "stopped before the alert was stored")
			return fmt.Errorf("publish alert %s: %w", a.GetAlertId(), errors.Join(err, stop.Err()))
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

func (e *Engine) done(seq uint64) {
	e.mu.Lock()
	e.processed = seq
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// Processed is the LEDGER sequence of the last message folded.
func (e *Engine) Processed() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.processed
}

// WaitFor blocks until the LEDGER message at seq has been folded and its
// alerts published, or ctx ends.
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
			return fmt.Errorf("wait for ledger seq %d (at %d): %w", seq, processed, ctx.Err())
		}
	}
}
