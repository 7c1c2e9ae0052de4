package projector_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
)

// meter returns a meter provider and a reader of its series: the sum over
// the points of name whose attributes include want (a histogram's count).
func meter(t *testing.T) (metric.MeterProvider, func(name string, want ...attribute.KeyValue) float64) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, func(name string, want ...attribute.KeyValue) float64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(t.Context(), &rm))
		total := 0.0
		add := func(set attribute.Set, v float64) {
			for _, kv := range want {
				if got, ok := set.Value(kv.Key); !ok || got != kv.Value {
					return
				}
			}
			total += v
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				switch d := m.Data.(type) {
				case metricdata.Gauge[int64]:
					for _, p := range d.DataPoints {
						add(p.Attributes, float64(p.Value))
					}
				case metricdata.Gauge[float64]:
					for _, p := range d.DataPoints {
						add(p.Attributes, p.Value)
					}
				case metricdata.Sum[int64]:
					for _, p := range d.DataPoints {
						add(p.Attributes, float64(p.Value))
					}
				case metricdata.Histogram[float64]:
					for _, p := range d.DataPoints {
						add(p.Attributes, float64(p.Count))
					}
				}
			}
		}
		return total
	}
}

// While ClickHouse refuses its table, a projector shows how many events and
// how long it trails, and counts the failed inserts; once the table is back
// it catches up and the lag is 0 again.
func TestLagAndInsertMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The delay may overstate by what the projector did since the latest
	// refresh (see streamlag.Reader.Lag): its bound starts before any event.
	before := time.Now()
	tokens, charges := e.publish(t, "acme", "design", 30, 10)
	mp, read := meter(t)
	p, err := projector.New(e.js, projector.Charges, chargesSink(e), e.log, projector.Options{
		BatchSize: 7, FlushInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond,
		LagInterval: 20 * time.Millisecond, Meter: mp,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	var run sync.WaitGroup
	run.Go(func() { require.NoError(t, p.Run(ctx)) })
	t.Cleanup(func() { cancel(); run.Wait() })
	e.waitCaughtUp(t, p)

	table := attribute.String("table", "charges_v2")
	ledger := attribute.String("stream", "LEDGER")
	require.Equal(t, float64(charges), read("tokenmeter.reporting.rows_projected", table, ledger))
	require.Positive(t, read("tokenmeter.reporting.clickhouse.insert.duration", table))
	require.Zero(t, read("tokenmeter.reporting.clickhouse.insert.errors", table))

	// The table goes away: the next block fails and the projector stops
	// there, restarting until the table is back.
	require.NoError(t, e.ch.Exec(t.Context(), "RENAME TABLE charges_v2 TO charges_v2_away"))
	stuckAt := e.last
	more, moreCharges := e.publish(t, "acme", "design", 5, 10)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.GreaterOrEqual(c, read("tokenmeter.reporting.clickhouse.insert.errors", table), 1.0)
		assert.Equal(c, 5.0, read("tokenmeter.reporting.projection.lag_events", table, ledger))
		assert.Positive(c, read("tokenmeter.reporting.projection.delay", table, ledger))
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, stuckAt, p.CaughtUpTo())
	require.LessOrEqual(t, read("tokenmeter.reporting.projection.delay", table, ledger), time.Since(before).Seconds(),
		"no older than the test's events")

	require.NoError(t, e.ch.Exec(t.Context(), "RENAME TABLE charges_v2_away TO charges_v2"))
	e.waitCaughtUp(t, p)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Zero(c, read("tokenmeter.reporting.projection.lag_events", table, ledger))
		assert.Zero(c, read("tokenmeter.reporting.projection.delay", table, ledger))
	}, 10*time.Second, 10*time.Millisecond)
	e.requireTotals(t, tokens+more, charges+moreCharges)
	require.Equal(t, float64(charges+moreCharges), read("tokenmeter.reporting.rows_projected", table, ledger))
}

// Events the stream discarded before the projector read them (USAGE's
// retention outlasted by an outage; here LEDGER purged and a message deleted
// by hand) are counted and logged, whether they lie before the stream's first
// message at the start or between two messages read; the rest are projected.
func TestDiscardedEventsAreCountedAndLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish(t, "acme", "design", 6, 10)
	tokens, charges := e.publish(t, "acme", "design", 6, 10)
	s, err := e.js.Stream(t.Context(), eventlog.LedgerStream)
	require.NoError(t, err)
	require.NoError(t, s.Purge(t.Context(), jetstream.WithPurgeSequence(7)))

	mp, read := meter(t)
	var logs testkit.Output
	start := func() (stop func()) {
		p, err := projector.New(e.js, projector.Charges, chargesSink(e), slog.New(slog.NewTextHandler(&logs, nil)), projector.Options{
			BatchSize: 7, FlushInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond, Meter: mp,
		})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		var run sync.WaitGroup
		run.Go(func() { require.NoError(t, p.Run(ctx)) })
		e.waitCaughtUp(t, p)
		return func() { cancel(); run.Wait() }
	}
	stop := start()
	stream := attribute.String("stream", "LEDGER")
	require.Equal(t, 6.0, read("tokenmeter.reporting.projection.events_discarded", stream))
	require.Equal(t, 1, logs.Count("events discarded", "events=6", "from_seq=1", "through_seq=6"), logs.String())
	e.requireTotals(t, tokens, charges)
	stop()

	more, moreCharges := e.publish(t, "acme", "design", 2, 10) // 13 (charged) and 14 (charged)
	e.publish(t, "acme", "design", 1, 10)                      // 15: a pack
	require.NoError(t, s.DeleteMsg(t.Context(), 14))
	more, moreCharges = more-10, moreCharges-1
	defer start()()
	require.Equal(t, 7.0, read("tokenmeter.reporting.projection.events_discarded", stream))
	require.Equal(t, 1, logs.Count("events discarded", "events=1", "from_seq=14", "through_seq=14"), logs.String())
	e.requireTotals(t, tokens+more, charges+moreCharges)
}
