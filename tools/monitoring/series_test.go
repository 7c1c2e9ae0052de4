package monitoring

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const exposition = `# HELP calls_total Calls.
# TYPE calls_total counter
calls_total{service_name="ledger",code="OK"} 3
# HELP call_seconds Durations.
# TYPE call_seconds histogram
call_seconds_bucket{method="A",le="0.1"} 1
call_seconds_bucket{method="A",le="+Inf"} 1
call_seconds_sum{method="A"} 0.05
call_seconds_count{method="A"} 1
`

func TestUsesAndMissing(t *testing.T) {
	exported, err := ParseExposition(strings.NewReader(exposition))
	require.NoError(t, err)
	require.Contains(t, exported, "call_seconds_bucket")
	require.Contains(t, exported, "call_seconds_count")
	require.True(t, exported["call_seconds_bucket"]["le"])
	require.False(t, exported["call_seconds_count"]["le"])

	uses, err := Uses(`histogram_quantile(0.99, sum by (method, le) (rate(call_seconds_bucket{instance=~"$i"}[5m])))
		/ on (method) group_left sum by (method) (rate(calls_total{code!="OK"}[5m])) + up`)
	require.NoError(t, err)
	require.Equal(t, []Use{
		{Metric: "call_seconds_bucket", Labels: []string{"instance", "le", "method"}},
		{Metric: "calls_total", Labels: []string{"code", "method"}},
		{Metric: "up"},
	}, uses)
	series, labels := exported.Missing(append(uses, Use{Metric: "nobody_exports_this"}))
	require.Equal(t, []string{"nobody_exports_this"}, series)
	require.Equal(t, []string{"calls_total has no label method"}, labels)

	_, err = Uses(`rate({__name__=~"calls_total|other_total"}[5m])`)
	require.ErrorContains(t, err, "name the series")
}

func TestVariableQuery(t *testing.T) {
	require.Equal(t, `calls_total{a="b"}`, variableQuery([]byte(`{"query":"label_values(calls_total{a=\"b\"}, service_name)"}`)))
	require.Equal(t, "", variableQuery([]byte(`"label_values(service_name)"`)))
}
