package projector

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/metric"
)

// meterName is the instrumentation scope of the projector's series.
const meterName = "github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"

// Bucket bounds in seconds: an insert takes milliseconds to a timeout
// (30s); an event reaches its table within a flush or, behind, hours later.
var (
	insertBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	lagBuckets    = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}
)

// instruments are the projector's series; each measurement carries its
// table's attributes (table, and stream where the series has it).
type instruments struct {
	lag        metric.Float64Histogram
	rows       metric.Int64Counter
	insert     metric.Float64Histogram
	insertErrs metric.Int64Counter
	lagEvents  metric.Int64ObservableGauge
	delay      metric.Float64ObservableGauge
	discarded  metric.Int64Counter
	meter      metric.Meter
}

func newInstruments(mp metric.MeterProvider) (*instruments, error) {
	m := mp.Meter(meterName)
	var errs [7]error
	in := &instruments{meter: m}
	in.lag, errs[0] = m.Float64Histogram("tokenmeter.reporting.projection_lag", metric.WithUnit("s"),
		metric.WithDescription("Time from an event's server time to its projection into ClickHouse, at each flush"),
		metric.WithExplicitBucketBoundaries(lagBuckets...))
	in.rows, errs[1] = m.Int64Counter("tokenmeter.reporting.rows_projected",
		metric.WithDescription("Rows inserted into ClickHouse by the projector"))
	in.insert, errs[2] = m.Float64Histogram("tokenmeter.reporting.clickhouse.insert.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of one block's INSERT into a ClickHouse table, failed ones included"),
		metric.WithExplicitBucketBoundaries(insertBuckets...))
	in.insertErrs, errs[3] = m.Int64Counter("tokenmeter.reporting.clickhouse.insert.errors",
		metric.WithDescription("Block INSERTs into a ClickHouse table that failed (the projector restarts after each)"))
	in.lagEvents, errs[4] = m.Int64ObservableGauge("tokenmeter.reporting.projection.lag_events",
		metric.WithDescription("Events in the stream past the table's projected position"))
	in.delay, errs[5] = m.Float64ObservableGauge("tokenmeter.reporting.projection.delay", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event not yet projected into the table; 0 when caught up"))
	in.discarded, errs[6] = m.Int64Counter("tokenmeter.reporting.projection.events_discarded",
		metric.WithDescription("Events the stream discarded (USAGE's retention) before the projector read them, since this process started: reports lack them"))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("projector metrics: %w", err)
	}
	return in, nil
}

// observeLag registers the lag gauges of p's tables, read from what the
// projector already knows; unregister when it stops.
func (p *Projector) observeLag() (metric.Registration, error) {
	in := p.metrics
	reg, err := in.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, w := range p.writers {
			events, delay := w.lag.Lag()
			o.ObserveInt64(in.lagEvents, int64(events), w.attrs)
			o.ObserveFloat64(in.delay, delay.Seconds(), w.attrs)
		}
		return nil
	}, in.lagEvents, in.delay)
	if err != nil {
		return nil, fmt.Errorf("projector lag metrics: %w", err)
	}
	return reg, nil
}

// zero shows each table's counts from the start, so rates and absence
// checks see a series before the first row or failure.
func (p *Projector) zero(ctx context.Context) {
	for _, w := range p.writers {
		p.metrics.rows.Add(ctx, 0, w.attrs)
		p.metrics.insertErrs.Add(ctx, 0, w.tableAttr)
	}
	p.metrics.discarded.Add(ctx, 0, p.streamAttr)
}
