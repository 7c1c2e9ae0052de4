package telemetry

import (
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Every series served at /metrics carries service_name, the resource's
// service.name: the dashboards and alert rules group and filter by it.
func TestMetricsCarryServiceName(t *testing.T) {
	tel, err := Setup(t.Context(), Config{ServiceName: "ledger", MetricsListen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	meter := otel.Meter("github.com/tokenmeter/tokenmeter/libs/telemetry/test")
	counter, err := meter.Int64Counter("tokenmeter.test.calls")
	require.NoError(t, err)
	counter.Add(t.Context(), 2, metric.WithAttributes(attribute.String("outcome", "ok")))
	hist, err := meter.Float64Histogram("tokenmeter.test.duration", metric.WithUnit("s"))
	require.NoError(t, err)
	hist.Record(t.Context(), 0.25)

	resp, err := http.Get("http://" + tel.MetricsAddr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	require.Contains(t, families, "tokenmeter_test_calls_total")
	require.Contains(t, families, "tokenmeter_test_duration_seconds")

	for name, f := range families {
		if name == "target_info" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			require.Equal(t, "ledger", labels["service_name"], "series %s %v", name, labels)
		}
	}
}
