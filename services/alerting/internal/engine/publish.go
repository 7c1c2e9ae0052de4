package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// How long one publish attempt may take, and the backoff between attempts.
const (
	publishTimeout = 5 * time.Second
	retryMin       = 100 * time.Millisecond
	retryMax       = 5 * time.Second
)

// publish appends a to the ALERTS stream, retrying until it is stored or stop ends.
func (e *Engine) publish(ctx, stop context.Context, a *v1.Alert) error {
	a.SourceStream = e.o.Stream
	ctx, span := otel.Tracer("tokenmeter/alerting").Start(ctx, "alerting.raise",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("tokenmeter.alert_id", a.GetAlertId()),
			attribute.String("tokenmeter.org", a.GetOrgId()),
			attribute.String("tokenmeter.team", a.GetTeamId()),
			attribute.Int64("tokenmeter.source_seq", int64(a.GetSourceSequence())),
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
			if !res.Duplicate {
				e.raised(ctx, a.GetKind())
			}
			span.SetAttributes(attribute.Int64("tokenmeter.alert_seq", int64(res.Sequence)))
			e.o.Log.InfoContext(ctx, "alert raised", "alert_id", a.GetAlertId(), "kind", a.GetKind(),
				"org", a.GetOrgId(), "team", a.GetTeamId(), "alert_seq", res.Sequence, "duplicate", res.Duplicate)
			return nil
		}
		e.o.Log.WarnContext(ctx, "publish alert failed; retrying", "alert_id", a.GetAlertId(), "err", err, "in", wait)
		select {
		case <-stop.Done():
			span.SetStatus(codes.Error, "stopped before the alert was stored")
			return fmt.Errorf("publish alert %s: %w", a.GetAlertId(), errors.Join(err, stop.Err()))
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}
