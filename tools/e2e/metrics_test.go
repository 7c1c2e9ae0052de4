package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// After a short load every service's calls show in the Prometheus metrics:
// a count per method (rate), per status code (errors) and a duration histogram.
func TestMetricsMoveUnderLoad(t *testing.T) {
	tel, err := telemetry.Setup(t.Context(), telemetry.Config{ServiceName: "e2e", MetricsListen: "127.0.0.1:0"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	stack, _ := startStack(t)
	ctx := t.Context()
	ledger := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.AdminKey))
	_, err = ledger.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "metrics-rate-1", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = ledger.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	ingest := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.LauncherKey))
	_, _ = ingest.Launch(ctx, &v1.LaunchRequest{EventId: "metrics-launch-1", TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	reports := v1.NewReportingServiceClient(dial(t, stack.Reporting.Addr(), devstack.AdminKey))
	_, _ = reports.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: []string{"design"}})
	alerts := v1.NewAlertingServiceClient(dial(t, stack.Alerting.Addr(), devstack.AdminKey))
	_, _ = alerts.ListRules(auth.ActingFor(ctx, devstack.DemoOrg), &v1.ListRulesRequest{})

	resp, err := http.Get("http://" + tel.MetricsAddr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, method := range []string{"IngestionService/Launch", "LedgerService/GetBalance", "ReportingService/GetUsageSummary", "AlertingService/ListRules"} {
		require.Positive(t, callCount(string(body), method), "calls of %s", method)
	}
}

// callCount sums the duration histograms' counts of one method.
func callCount(metrics, method string) int {
	re := regexp.MustCompile(`(?m)^rpc_server_[a-z_]*duration[a-z_]*_count\{[^}]*` + regexp.QuoteMeta(method) + `[^}]*\} (\d+)`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(metrics, -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}
