package webhook_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// meter returns a meter provider and a reader of its series: the sum over
// the points of name whose attributes include want (-1: no point at all).
func meter(t *testing.T) (metric.MeterProvider, func(name string, want ...attribute.KeyValue) float64) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, func(name string, want ...attribute.KeyValue) float64 {
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(t.Context(), &rm))
		total, seen := 0.0, false
		add := func(set attribute.Set, v int64) {
			for _, kv := range want {
				if got, ok := set.Value(kv.Key); !ok || got != kv.Value {
					return
				}
			}
			total, seen = total+float64(v), true
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				switch d := m.Data.(type) {
				case metricdata.Gauge[int64]:
					for _, p := range d.DataPoints {
						add(p.Attributes, p.Value)
					}
				case metricdata.Sum[int64]:
					for _, p := range d.DataPoints {
						add(p.Attributes, p.Value)
					}
				}
			}
		}
		if !seen {
			return -1
		}
		return total
	}
}

func outcome(o string) attribute.KeyValue { return attribute.String("outcome", o) }

// Deliveries count by outcome: an endpoint answering 500 then 200 gives a
// retry then a delivery; one that always fails ends dead, and is held.
func TestDeliveryMetrics(t *testing.T) {
	t.Parallel()
	r := startDispatcher(t, 3)
	const deliveries, held = "tokenmeter.alerting.webhook.deliveries", "tokenmeter.alerting.dead_letters"
	require.Eventually(t, func() bool { return r.read(held) == 0 }, 10*time.Second, 5*time.Millisecond,
		"counted, and none yet")

	flaky := httptest.NewServer(&receiver{codes: []int{500, 200}})
	t.Cleanup(flaky.Close)
	r.hook(t, "flaky", flaky.URL)
	r.raise(t, 1)
	require.Equal(t, 1.0, r.read(deliveries, outcome("retry")))
	require.Equal(t, 1.0, r.read(deliveries, outcome("delivered")))
	require.Zero(t, r.read(deliveries, outcome("dead")), "shown from the start")
	require.Equal(t, 2.0, r.read(deliveries), "two attempts in all")

	require.NoError(t, r.store.Webhooks.Delete(t.Context(), "acme", "design", "flaky"))
	down := httptest.NewServer(&receiver{codes: []int{503}})
	t.Cleanup(down.Close)
	r.hook(t, "down", down.URL)
	r.raise(t, 2)
	require.Equal(t, 3.0, r.read(deliveries, outcome("retry")), "one before the delivery, two before giving up")
	require.Equal(t, 1.0, r.read(deliveries, outcome("dead")))
	require.Equal(t, 1.0, r.read(deliveries, outcome("delivered")))
	require.EventuallyWithT(t, func(c *assert.CollectT) { assert.Equal(c, 1.0, r.read(held)) },
		10*time.Second, 5*time.Millisecond)
}
