package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// loadedStack is the dev stack in one process after metricsLoad, with the
// process's /metrics.
type loadedStack struct {
	stack   *devstack.Stack
	metrics string // where to scrape
	before  []byte // the scrape before the load
}

// processMetrics is the one meter provider of this test process: instruments
// made once per package bind to the first provider installed, as in a
// service, so every test here shares it and compares before with after.
var processMetrics = sync.OnceValues(func() (string, error) {
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "e2e", MetricsListen: "127.0.0.1:0"})
	if err != nil {
		return "", err
	}
	return "http://" + tel.MetricsAddr() + "/metrics", nil
})

// startMetricsStack serves the process's metrics, starts the stack and
// drives metricsLoad through it.
func startMetricsStack(t *testing.T) loadedStack {
	t.Helper()
	addr, err := processMetrics()
	require.NoError(t, err)
	stack, _ := startStack(t)
	before := scrape(t, addr)
	metricsLoad(t, stack)
	return loadedStack{stack: stack, metrics: addr, before: before}
}

// metricsLoad makes every domain series appear: a launch authorized, one
// refused and one repeated, their projection into ClickHouse, a low-balance
// alert delivered to one webhook and retried on another.
func metricsLoad(t *testing.T, stack *devstack.Stack) {
	t.Helper()
	ctx := t.Context()
	ledger := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.AdminKey))
	_, err := ledger.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "metrics-rate-1", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = ledger.AddPack(ctx, &v1.AddPackRequest{EventId: "metrics-pack-1", TeamId: "design", PackId: "p1", Tokens: 12})
	require.NoError(t, err)
	for _, u := range []string{"ann", "bob"} {
		_, err := ledger.AssignUser(ctx, &v1.AssignUserRequest{EventId: "metrics-assign-" + u, TeamId: "design", UserId: u, ProductCodes: []string{"*"}})
		require.NoError(t, err)
	}

	var delivered, refused atomic.Int32
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { delivered.Add(1) }))
	t.Cleanup(ok.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		refused.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	alerts := v1.NewAlertingServiceClient(dial(t, stack.Alerting.Addr(), devstack.AdminKey))
	for id, url := range map[string]string{"ok": ok.URL, "failing": failing.URL} {
		_, err := alerts.SetWebhook(actingFor(ctx, devstack.DemoOrg), &v1.SetWebhookRequest{Webhook: &v1.Webhook{WebhookId: id, TeamId: "design", Url: url}})
		require.NoError(t, err)
	}

	ingest := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.LauncherKey))
	launch := func(id, user string) *v1.LaunchResponse {
		resp, err := ingest.Launch(ctx, &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: user, ProductCode: "REVIT"})
		require.NoError(t, err)
		return resp
	}
	// 10 of 12 tokens: authorized, and 2 left is below the low-balance threshold.
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch("metrics-launch-1", "ann").GetDecision())
	require.Equal(t, v1.Decision_DECISION_DENIED, launch("metrics-launch-2", "bob").GetDecision())
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch("metrics-launch-1", "ann").GetDecision(), "a repeated launch")

	reports := v1.NewReportingServiceClient(dial(t, stack.Reporting.Addr(), devstack.AdminKey))
	require.Eventually(t, func() bool {
		r, err := reports.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: []string{"design"}})
		return err == nil && r.GetTotalTokens() == 10
	}, 30*time.Second, 50*time.Millisecond, "the launch projected into ClickHouse")
	require.Eventually(t, func() bool { return delivered.Load() > 0 && refused.Load() > 0 },
		30*time.Second, 20*time.Millisecond, "the low-balance alert posted to both webhooks")
}

// scrape returns the process's metrics in Prometheus' text format.
func scrape(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return body
}

// seriesSum adds up a series' samples whose labels include match: a counter's
// or gauge's value, a histogram's count. ok is false when no sample matched.
func seriesSum(t *testing.T, body []byte, name string, match map[string]string) (sum float64, ok bool) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err)
	f := families[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, match) {
			continue
		}
		ok = true
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			sum += m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			sum += m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			sum += float64(m.GetHistogram().GetSampleCount())
		default:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, ok
}

func hasLabels(m *dto.Metric, match map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := match[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(match)
}
