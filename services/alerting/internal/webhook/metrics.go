package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the dispatcher's series.
const meterName = "github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"

// Outcomes of a delivery attempt.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeDead      = "dead"
)

// instruments are the dispatcher's series.
type instruments struct {
	deliveries metric.Int64Counter
	held       metric.Int64ObservableGauge
}

// instrument builds the dispatcher's series and registers the dead letter
// gauge, which reads the count countDeadLetters keeps; the registration
// ends with Run.
func (d *Dispatcher) instrument() (metric.Registration, error) {
	m := d.o.Meter.Meter(meterName)
	var errs [2]error
	in := &instruments{}
	in.deliveries, errs[0] = m.Int64Counter("tokenmeter.alerting.webhook.deliveries",
		metric.WithDescription("Alert delivery attempts by channel (webhook, email) and outcome: delivered, retry (failed, tried again), dead (given up)"))
	in.held, errs[1] = m.Int64ObservableGauge("tokenmeter.alerting.dead_letters",
		metric.WithDescription("Webhook deliveries given up and held as dead letters"))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("webhook metrics: %w", err)
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if n := d.held.Load(); n >= 0 {
			o.ObserveInt64(in.held, n)
		}
		return nil
	}, in.held)
	if err != nil {
		return nil, fmt.Errorf("webhook metrics: %w", err)
	}
	d.metrics = in
	return reg, nil
}

// zero shows every outcome's count from the start, so rates and absence
// checks see a series before the first delivery.
func (d *Dispatcher) zero(ctx context.Context) {
	for _, c := range []string{channelWebhook, channelEmail} {
		for _, o := range []string{outcomeDelivered, outcomeRetry, outcomeDead} {
			d.metrics.deliveries.Add(ctx, 0, metric.WithAttributes(attribute.String("channel", c), attribute.String("outcome", o)))
		}
	}
}

// countOutcome counts one attempt's outcome on a channel (webhook, email).
func (d *Dispatcher) countOutcome(ctx context.Context, channel, outcome string) {
	d.metrics.deliveries.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", channel), attribute.String("outcome", outcome)))
}

// countDeadLetters keeps the number of dead letters held, read from the
// bucket every CountEvery and after each one recorded, until ctx ends.
func (d *Dispatcher) countDeadLetters(ctx context.Context) {
	tick := time.NewTicker(d.o.CountEvery)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, max(d.o.CountEvery, time.Second))
		n, err := d.store.DeadLetters.Held(cctx)
		cancel()
		if err == nil {
			d.held.Store(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-d.recorded:
		}
	}
}
