package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// onCluster points a service's configuration at the test's database on the
// dev ClickHouse cluster, learnt from its first node.
func onCluster(cl testkit.CHCluster) func(*reporting.Config) {
	return func(c *reporting.Config) {
		c.ClickHouseAddr, c.ClickHouseCluster, c.ClickHouseDatabase = cl.Nodes[0], cl.Name, cl.Database
	}
}

// clusterReports answers a fixed set of reports (and exports) for org's teams,
// each as JSON, so that two services' answers compare field by field.
func clusterReports(t *testing.T, addr, key string) map[string]string {
	t.Helper()
	c := client(t, addr, key)
	ctx := t.Context()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	rng := &v1.UsageRange{FromDate: today.AddDate(0, 0, -30).Format(time.DateOnly), ToDate: today.Format(time.DateOnly)}
	teams := []string{"design", "civil"}
	out := map[string]string{}
	add := func(name string, m proto.Message, err error) {
		if err != nil {
			out[name] = "error: " + err.Error()
			return
		}
		out[name] = protojson.Format(m)
	}
	r1, err := c.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: teams, Range: rng})
	add("summary", r1, err)
	r2, err := c.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: teams, Range: rng})
	add("by day", r2, err)
	r3, err := c.GetUsageByProduct(ctx, &v1.GetUsageByProductRequest{TeamIds: teams, Range: rng})
	add("by product", r3, err)
	r4, err := c.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: teams, Range: rng, Limit: 10})
	add("by user", r4, err)
	r5, err := c.GetUsageByAttribute(ctx, &v1.GetUsageByAttributeRequest{TeamIds: teams, Range: rng, AttributeKey: "project"})
	add("by attribute", r5, err)
	r6, err := c.GetDenials(ctx, &v1.GetDenialsRequest{TeamIds: teams, Range: rng})
	add("denials", r6, err)
	r7, err := c.GetSpend(ctx, &v1.GetSpendRequest{TeamIds: teams, Range: rng, GroupBy: v1.SpendGrouping_SPEND_GROUPING_USER})
	add("spend", r7, err)
	r8, err := c.ListUsers(ctx, &v1.ListUsersRequest{TeamId: "design"})
	add("users", r8, err)
	r9, err := c.Forecast(ctx, &v1.ForecastRequest{TeamId: "design"})
	add("forecast", r9, err)
	r10, err := c.AdviseLicensing(ctx, &v1.AdviseLicensingRequest{TeamIds: teams})
	add("advice", r10, err)
	for _, kind := range []v1.ExportKind{v1.ExportKind_EXPORT_KIND_USAGE, v1.ExportKind_EXPORT_KIND_USERS, v1.ExportKind_EXPORT_KIND_DENIALS, v1.ExportKind_EXPORT_KIND_SPEND} {
		rows := exportRows(t, c, &v1.ExportRequest{TeamIds: teams, Range: rng, Kind: kind, Format: v1.ExportFormat_EXPORT_FORMAT_CSV})
		out["export "+kind.String()] = fmt.Sprint(rows)
	}
	return out
}

// requireSameReports waits until the clustered service answers every
// report as the one-server service does (reads may reach a replica that has
// not fetched the newest parts yet), then compares them.
func requireSameReports(t *testing.T, one, clustered *reporting.Service) {
	t.Helper()
	for org, key := range map[string]string{"acme": acmeKey, "globex": globexKey} {
		want := clusterReports(t, one.Addr(), key)
		var got map[string]string
		assert.Eventually(t, func() bool {
			got = clusterReports(t, clustered.Addr(), key)
			return fmt.Sprint(got) == fmt.Sprint(want)
		}, 15*time.Second, 100*time.Millisecond, "%s's reports on the cluster", org)
		for name := range want {
			require.Equal(t, want[name], got[name], "%s %s", org, name)
			require.NotContains(t, want[name], "error:", "%s %s", org, name)
		}
	}
}

// Reporting on the 2-shard x 2-replica cluster projects a ledger workload
// (acme on one shard, globex on the other) and answers every report as on
// one server.
func TestClusterReportsEqualOneServer(t *testing.T) {
	cl := testkit.ClickHouseCluster(t)
	natsURL, _ := testkit.NATS(t)
	js := logAs(t, natsURL, "ledger")
	w := randomWorkload(t, js, 42)
	_, err := eventlog.Append(t.Context(), js, eventlog.CatalogSubject("acme"), &v1.Event{EventId: "rate-REVIT", OrgId: "acme",
		ServerTime: timestamppb.New(time.Now().AddDate(0, 0, -200)),
		Payload:    &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{ProductCode: "REVIT", Name: "Revit", DailyRate: 10}}}, nil)
	require.NoError(t, err)
	w.events++
	showPersonalData(t, natsURL, "acme")
	one := startServiceWith(t, natsURL, nil)
	clustered := startServiceWith(t, natsURL, onCluster(cl))
	for _, svc := range []*reporting.Service{one, clustered} {
		require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(w.events) }, 30*time.Second, 10*time.Millisecond)
	}
	requireSameReports(t, one, clustered)
	for _, shard := range [][]string{cl.Nodes[:2], cl.Nodes[2:]} {
		var rows uint64
		require.NoError(t, cl.Open(t, shard...).QueryRow(t.Context(), "SELECT count() FROM charges_v2_local").Scan(&rows))
		require.Positive(t, rows, "each shard holds charges")
	}

	// Reporting's own store, one replicated copy on every node.
	admin := client(t, clustered.Addr(), acmeKey)
	monday := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 7)
	_, err = admin.AddPlannedProject(t.Context(), &v1.AddPlannedProjectRequest{EventId: "plan-bridge-1", TeamId: "design", Plan: bridge(monday)})
	require.NoError(t, err)
	for _, addr := range cl.Nodes {
		var n uint64
		require.Eventually(t, func() bool {
			err := cl.Open(t, addr).QueryRow(t.Context(), "SELECT count() FROM planned_project_events").Scan(&n)
			return err == nil && n == 1
		}, 10*time.Second, 50*time.Millisecond, "the plan on %s", addr)
	}
	list, err := admin.ListPlannedProjects(t.Context(), &v1.ListPlannedProjectsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Len(t, list.GetProjects(), 1)
}

// With one replica of a shard stopped, reporting on the cluster goes on
// projecting through the other and answering reports.
func TestClusterGoesOnWithoutAReplica(t *testing.T) {
	cl := testkit.ClickHouseCluster(t)
	natsURL, _ := testkit.NATS(t)
	js := logAs(t, natsURL, "ledger")
	w := randomWorkload(t, js, 7)
	one := startServiceWith(t, natsURL, nil)
	clustered := startServiceWith(t, natsURL, onCluster(cl))
	require.Eventually(t, func() bool { return clustered.CaughtUpTo() >= uint64(w.events) }, 30*time.Second, 10*time.Millisecond)

	// Each shard connection and the reads reach shard 1 replica 1 first.
	cl.StopReplica(t, 1, 1)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for _, key := range []string{"acme/design", "globex/civil"} {
		p := w.pools[key]
		for i := range 5 {
			w.launch(p, fmt.Sprintf("user-%d", i), "REVIT", "P-9", today.Add(time.Duration(i)*time.Minute))
		}
	}
	for _, svc := range []*reporting.Service{one, clustered} {
		require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(w.events) }, 30*time.Second, 10*time.Millisecond)
	}
	requireSameReports(t, one, clustered)
	var rows uint64
	require.NoError(t, cl.Open(t, cl.Nodes[1]).QueryRow(t.Context(),
		"SELECT count() FROM charges_v2_local WHERE attribute_values = ['P-9'] AND org_id = 'acme'").Scan(&rows))
	require.Positive(t, rows, "shard 1's other replica took the new charges")
}
