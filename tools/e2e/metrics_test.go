package e2e

import (
	"bytes"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
	"github.com/tokenmeter/tokenmeter/tools/monitoring"
)

// After a short load every service's calls show in the Prometheus metrics (a
// count per method and status code, a duration histogram), and so does the
// domain's work: decisions, appends, launches, projections, alerts, webhooks.
func TestMetricsMoveUnderLoad(t *testing.T) {
	s := startMetricsStack(t)
	ctx := t.Context()
	ledger := v1.NewLedgerServiceClient(dial(t, s.stack.Ledger.Addr(), devstack.AdminKey))
	_, err := ledger.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	reports := v1.NewReportingServiceClient(dial(t, s.stack.Reporting.Addr(), devstack.AdminKey))
	_, _ = reports.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: []string{"design"}})
	alerts := v1.NewAlertingServiceClient(dial(t, s.stack.Alerting.Addr(), devstack.AdminKey))
	_, _ = alerts.ListRules(auth.ActingFor(ctx, devstack.DemoOrg), &v1.ListRulesRequest{})

	body := scrape(t, s.metrics)
	for _, method := range []string{"IngestionService/Launch", "LedgerService/GetBalance", "ReportingService/GetUsageSummary", "AlertingService/ListRules"} {
		n, _ := seriesSum(t, body, "rpc_server_call_duration_seconds", map[string]string{"rpc_method": "tokenmeter.v1." + method})
		require.Positive(t, n, "calls of %s", method)
	}
	moved := []struct {
		name  string
		match map[string]string
		gauge bool // a level: positive after the load, not necessarily higher
	}{
		{"tokenmeter_ledger_decisions_total", map[string]string{"outcome": "authorized"}, false},
		{"tokenmeter_ledger_decisions_total", map[string]string{"outcome": "refused"}, false},
		{"tokenmeter_ledger_decision_duration_seconds", nil, false},
		{"tokenmeter_ledger_pools", nil, true},
		{"tokenmeter_eventlog_append_duration_seconds", nil, false},
		{"tokenmeter_nats_connected", nil, true},
		{"tokenmeter_ingestion_launches_total", map[string]string{"outcome": "authorized"}, false},
		{"tokenmeter_ingestion_launches_total", map[string]string{"outcome": "refused"}, false},
		{"tokenmeter_reporting_rows_projected_total", nil, false},
		{"tokenmeter_reporting_projection_lag_seconds", nil, false},
		{"tokenmeter_reporting_clickhouse_insert_duration_seconds", nil, false},
		{"tokenmeter_alerting_alerts_total", map[string]string{"kind": "low_balance"}, false},
		{"tokenmeter_alerting_webhook_deliveries_total", map[string]string{"outcome": "delivered"}, false},
		{"tokenmeter_alerting_webhook_deliveries_total", map[string]string{"outcome": "retry"}, false},
	}
	for _, m := range moved {
		n, ok := seriesSum(t, body, m.name, m.match)
		require.True(t, ok, "no series %s%v", m.name, m.match)
		if m.gauge {
			require.Positive(t, n, "%s%v", m.name, m.match)
			continue
		}
		was, _ := seriesSum(t, s.before, m.name, m.match)
		require.Greater(t, n, was, "%s%v did not move", m.name, m.match)
	}
}

// TestDashboardsAndRulesUseExportedSeries: every series and label that a
// Grafana dashboard or an alert rule of deploy/ names is exported by the
// services after a short load, and every tokenmeter series is on a dashboard.
func TestDashboardsAndRulesUseExportedSeries(t *testing.T) {
	s := startMetricsStack(t)
	exported, err := monitoring.ParseExposition(bytes.NewReader(scrape(t, s.metrics)))
	require.NoError(t, err)

	dashboards, err := monitoring.DashboardQueries(filepath.Join("..", "..", "deploy", "grafana", "dashboards"))
	require.NoError(t, err)
	rules, err := monitoring.Rules(filepath.Join("..", "..", "deploy", "prometheus", "rules"))
	require.NoError(t, err)
	usedBy := map[string][]string{} // missing series -> where used
	shown := map[string]bool{}      // series on a dashboard
	var labelProblems []string
	for i, q := range append(dashboards, monitoring.RuleQueries(rules)...) {
		uses, err := monitoring.Uses(q.Expr)
		require.NoError(t, err, "%s: %s", q.Source, q.Expr)
		for _, u := range uses {
			shown[seriesBase(u.Metric)] = shown[seriesBase(u.Metric)] || i < len(dashboards)
		}
		missing, labels := exported.Missing(uses)
		for _, name := range missing {
			usedBy[name] = append(usedBy[name], q.Source)
		}
		for _, l := range labels {
			labelProblems = append(labelProblems, q.Source+": "+l)
		}
	}
	var unexported []string
	for name, sources := range usedBy {
		unexported = append(unexported, name+" (used by "+strings.Join(sources, "; ")+")")
	}
	sort.Strings(unexported)
	require.Empty(t, unexported, "series no service exports after the load (a counter of rare events, "+
		"such as errors or conflicts, must be created at start with Add(ctx, 0) for each of its label values)")
	require.Empty(t, labelProblems, "labels the series do not carry")
	for name := range exported {
		if strings.HasPrefix(name, "tokenmeter_") || strings.HasPrefix(name, "rpc_server_") {
			require.True(t, shown[seriesBase(name)], "%s is on no dashboard", name)
		}
	}
}

// seriesBase is a histogram's name without _bucket, _sum or _count.
func seriesBase(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, s); ok {
			return b
		}
	}
	return name
}
