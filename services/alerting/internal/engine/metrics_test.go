package engine_test

import (
	"context"
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

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// meter returns a meter provider and a reader of its series: the sum over
// the points of name whose attributes include want.
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
				}
			}
		}
		return total
	}
}

// gated folds each event only while its gate is open: an engine held up
// behind its stream (a slow publish, a busy machine).
type gated struct {
	engine.Fold
	mu   sync.Mutex
	gate chan struct{}
}

func (g *gated) Apply(seq uint64, ev *v1.Event) []*v1.Alert {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	<-gate
	return g.Fold.Apply(seq, ev)
}

func (g *gated) hold() { g.mu.Lock(); g.gate = make(chan struct{}); g.mu.Unlock() }

func (g *gated) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.gate:
	default:
		close(g.gate)
	}
}

func runEngine(t *testing.T, js jetstream.JetStream, fold engine.Fold, mp metric.MeterProvider) *running {
	t.Helper()
	eng := engine.New(js, engine.Options{Fold: fold, Defaults: rulesConfig, Log: quiet(),
		LagInterval: 20 * time.Millisecond, Meter: mp})
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{eng: eng, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// The engine's lag shows the events it has not folded and how long the
// first has waited, back to 0 once it catches up; alerts count by kind,
// once: a restart that replays the stream raises none again.
func TestLagAndAlertMetrics(t *testing.T) {
	t.Parallel()
	js := connect(t)
	mp, read := meter(t)
	fold, err := rules.New(rulesConfig)
	require.NoError(t, err)
	g := &gated{Fold: fold, gate: make(chan struct{})}
	g.release()
	eng := runEngine(t, js, g, mp)
	t.Cleanup(g.release) // before the engine stops

	// The delay may overstate by what the engine folded since the latest
	// refresh (see streamlag.Reader.Lag), so its bound starts before the
	// first event the engine may have been waiting on.
	before := time.Now()
	l := &ledger{t: t, js: js, at: time.Now()}
	l.append("design", packAdded, 1000, 1000)
	eng.wait(t, l.append("design", charged, 100, 1000)) // low balance
	stream := attribute.String("stream", "LEDGER")
	require.Equal(t, 1.0, read("tokenmeter.alerting.alerts", attribute.String("kind", rules.KindLowBalance)))
	require.Equal(t, 1.0, read("tokenmeter.alerting.alerts"), "one alert in all")

	g.hold()
	for range 3 {
		l.append("design", charged, 90, 1000)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 3.0, read("tokenmeter.alerting.engine.lag_events", stream))
		assert.Positive(c, read("tokenmeter.alerting.engine.delay", stream))
	}, 10*time.Second, 10*time.Millisecond)
	require.LessOrEqual(t, read("tokenmeter.alerting.engine.delay", stream), time.Since(before).Seconds())
	require.Zero(t, read("tokenmeter.alerting.engine.lag_events", attribute.String("stream", "USAGE")))

	g.release()
	eng.wait(t, 5)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Zero(c, read("tokenmeter.alerting.engine.lag_events", stream))
		assert.Zero(c, read("tokenmeter.alerting.engine.delay", stream))
	}, 10*time.Second, 10*time.Millisecond)
	eng.stop(t)

	// A restart folds the whole stream again but stores nothing new.
	mp2, read2 := meter(t)
	fold2, err := rules.New(rulesConfig)
	require.NoError(t, err)
	again := runEngine(t, js, fold2, mp2)
	again.wait(t, 5)
	require.Zero(t, read2("tokenmeter.alerting.alerts"))
}
