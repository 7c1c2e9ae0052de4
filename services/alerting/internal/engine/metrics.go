package engine

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// meterName is the instrumentation scope of the engine's series.
const meterName = "github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"

// instruments are the engine's series.
type instruments struct {
	alerts    metric.Int64Counter
	lagEvents metric.Int64ObservableGauge
	delay     metric.Float64ObservableGauge
}

// instrument builds the engine's series and registers its lag gauges, read
// from what the engine already knows; the registration ends with Run.
func (e *Engine) instrument() (metric.Registration, error) {
	m := e.o.Meter.Meter(meterName)
	var errs [3]error
	in := &instruments{}
	in.alerts, errs[0] = m.Int64Counter("tokenmeter.alerting.alerts",
		metric.WithDescription("Alerts raised and stored on the ALERTS stream, by rule kind"))
	in.lagEvents, errs[1] = m.Int64ObservableGauge("tokenmeter.alerting.engine.lag_events",
		metric.WithDescription("Events in the source stream the rule engine has not folded yet"))
	in.delay, errs[2] = m.Float64ObservableGauge("tokenmeter.alerting.engine.delay", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest source event the rule engine has not folded yet; 0 when caught up"))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("alert engine metrics: %w", err)
	}
	stream := metric.WithAttributes(attribute.String("stream", e.o.Stream))
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		events, delay := e.lag.Lag()
		o.ObserveInt64(in.lagEvents, int64(events), stream)
		o.ObserveFloat64(in.delay, delay.Seconds(), stream)
		return nil
	}, in.lagEvents, in.delay)
	if err != nil {
		return nil, fmt.Errorf("alert engine metrics: %w", err)
	}
	e.metrics = in
	return reg, nil
}

// zero shows every kind's count from the start, so rates and absence
// checks see a series before the first alert.
func (e *Engine) zero(ctx context.Context) {
	for _, kind := range rules.Kinds {
		e.metrics.alerts.Add(ctx, 0, metric.WithAttributes(attribute.String("kind", kind)))
	}
}

// raised counts an alert stored for the first time.
func (e *Engine) raised(ctx context.Context, kind string) {
	e.metrics.alerts.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", kind)))
}
