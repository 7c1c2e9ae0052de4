package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Capacity history (seed 004's "view usage details") against ClickHouse:
// a small log of capacity events in two teams and two organisations,
// asserted by day, week and month by hand.
func TestGetCapacityUsage(t *testing.T) {
	t.Parallel()
	acme := startCapacityFixture(t)
	usage := func(product string, b v1.CapacityBucket, from, to string) *v1.GetCapacityUsageResponse {
		resp, err := acme.GetCapacityUsage(t.Context(), &v1.GetCapacityUsageRequest{TeamId: "design", ProductCode: product, Bucket: b,
			Range: &v1.UsageRange{FromDate: from, ToDate: to}})
		require.NoError(t, err)
		return resp
	}
	// busy lists the buckets where something happened: start used/returned/uses/users.
	busy := func(resp *v1.GetCapacityUsageResponse) []string {
		var out []string
		for _, b := range resp.GetBuckets() {
			if b.GetUses() > 0 || b.GetUnitsReturned() > 0 {
				out = append(out, fmt.Sprintf("%s %d/%d/%d/%d", b.GetStartDate(), b.GetUnitsUsed(), b.GetUnitsReturned(), b.GetUses(), b.GetUsers()))
			}
		}
		return out
	}

	day := usage("API", v1.CapacityBucket_CAPACITY_BUCKET_UNSPECIFIED, "2025-12-30", "2026-02-03")
	require.Equal(t, v1.CapacityBucket_CAPACITY_BUCKET_DAY, day.GetBucket(), "day is the default")
	require.Len(t, day.GetBuckets(), 36, "every day of the range, 30 Dec to 3 Feb")
	require.Equal(t, "2025-12-30", day.GetBuckets()[0].GetStartDate())
	require.Equal(t, []string{"2025-12-31 10/0/1/1", "2026-01-02 12/0/2/2", "2026-01-05 20/0/1/1", "2026-02-03 1/0/1/1"}, busy(day),
		"the other team's and the other organisation's uses are not counted")
	require.EqualValues(t, 43, day.GetUnitsUsed())
	require.EqualValues(t, 5, day.GetUses())

	week := usage("API", v1.CapacityBucket_CAPACITY_BUCKET_WEEK, "2025-12-30", "2026-02-03")
	require.Len(t, week.GetBuckets(), 6, "Mondays 29 Dec to 2 Feb")
	require.Equal(t, []string{"2025-12-29 22/0/3/2", "2026-01-05 20/0/1/1", "2026-02-02 1/0/1/1"}, busy(week))

	month := usage("API", v1.CapacityBucket_CAPACITY_BUCKET_MONTH, "2025-12-01", "2026-03-31")
	require.Len(t, month.GetBuckets(), 4)
	require.Equal(t, []string{"2025-12-01 10/0/1/1", "2026-01-01 32/0/3/2", "2026-02-01 1/0/1/1"}, busy(month))
	require.Equal(t, []string{"2026-01-01 12/0/2/2"}, busy(usage("API", v1.CapacityBucket_CAPACITY_BUCKET_MONTH, "2026-01-02", "2026-01-04")),
		"the range's ends cut the bucket")

	seats := usage("SEATS", v1.CapacityBucket_CAPACITY_BUCKET_DAY, "2026-01-01", "2026-01-07")
	require.Equal(t, []string{"2026-01-02 2/0/1/1", "2026-01-06 0/2/0/0"}, busy(seats), "returnable: checked out, then given back")

	for _, bad := range []struct {
		req   *v1.GetCapacityUsageRequest
		field string
	}{
		{&v1.GetCapacityUsageRequest{TeamId: "design", ProductCode: "API", Range: &v1.UsageRange{FromDate: "2025-01-01", ToDate: "2026-02-10"}}, "range"},
		{&v1.GetCapacityUsageRequest{TeamId: "design", ProductCode: "no such"}, "product_code"},
		{&v1.GetCapacityUsageRequest{TeamId: "", ProductCode: "API"}, "team_id"},
		{&v1.GetCapacityUsageRequest{TeamId: "design", ProductCode: "API", Bucket: 9}, "bucket"},
	} {
		_, err := acme.GetCapacityUsage(t.Context(), bad.req)
		require.Equal(t, codes.InvalidArgument, status.Code(err), bad.field)
		require.Contains(t, status.Convert(err).Message(), bad.field)
	}
	_, err := acme.GetCapacityUsage(t.Context(), &v1.GetCapacityUsageRequest{TeamId: "design", ProductCode: "API", Bucket: v1.CapacityBucket_CAPACITY_BUCKET_WEEK,
		Range: &v1.UsageRange{FromDate: "2025-01-01", ToDate: "2026-02-10"}})
	require.NoError(t, err, "the same range by week is 58 buckets")
}

// startCapacityFixture appends the log the test counts by hand: API
// (exhaustible) and SEATS (returnable) in acme's design team, and uses of
// API by another team and another organisation that must not count.
func startCapacityFixture(t *testing.T) v1.ReportingServiceClient {
	t.Helper()
	svc, natsURL := startService(t)
	js := logAs(t, natsURL, "admin")
	on := func(date string, hour int) time.Time {
		d, err := time.Parse(time.DateOnly, date)
		require.NoError(t, err)
		return d.Add(time.Duration(hour) * time.Hour)
	}
	used := func(product, user string, units int64, checkout string) *v1.Event {
		return &v1.Event{Payload: &v1.Event_CapacityUsed{CapacityUsed: &v1.CapacityUsed{ProductCode: product, UserId: user, Units: units, CheckoutId: checkout,
			Capacity: &v1.CapacityFigures{Total: 100}}}}
	}
	type ev struct {
		org, team string
		at        time.Time
		e         *v1.Event
	}
	events := []ev{
		{"acme", "design", on("2025-12-30", 9), &v1.Event{Payload: &v1.Event_CapacitySet{CapacitySet: &v1.CapacitySet{ProductCode: "API",
			Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Units: 100, EndsAt: timestamppb.New(on("2026-06-30", 0))}}}},
		{"acme", "design", on("2025-12-31", 23), used("API", "ann", 10, "")},
		{"acme", "design", on("2026-01-02", 0), used("API", "bob", 5, "")},
		{"acme", "design", on("2026-01-02", 12), used("API", "ann", 7, "")},
		{"acme", "design", on("2026-01-05", 8), used("API", "ann", 20, "")},
		{"acme", "design", on("2026-02-03", 8), used("API", "cat", 1, "")},
		{"acme", "design", on("2026-01-02", 8), used("SEATS", "ann", 2, "out-1")},
		{"acme", "design", on("2026-01-06", 8), &v1.Event{Payload: &v1.Event_CapacityReturned{CapacityReturned: &v1.CapacityReturned{
			ProductCode: "SEATS", CheckoutId: "out-1", Units: 2}}}},
		{"acme", "ops", on("2026-01-02", 8), used("API", "dan", 50, "")},
		{"globex", "design", on("2026-01-02", 8), used("API", "gil", 99, "")},
	}
	for i, e := range events {
		e.e.EventId, e.e.OrgId, e.e.TeamId, e.e.ServerTime = fmt.Sprintf("c-%02d", i), e.org, e.team, timestamppb.New(e.at)
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(e.org, e.team), e.e, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(events)) }, 20*time.Second, 10*time.Millisecond)
	return client(t, svc.Addr(), acmeKey)
}
