package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// setZone records on the log that org's reports follow zone, as its admin
// would through the ledger.
func setZone(t testing.TB, natsURL, org, zone string) {
	t.Helper()
	_, err := eventlog.Append(t.Context(), logAs(t, natsURL, "ledger"), eventlog.CatalogSubject(org), &v1.Event{
		EventId: "zone-" + org, Type: "time_zone_set", OrgId: org, ServerTime: timestamppb.Now(),
		Payload: &v1.Event_TimeZoneSet{TimeZoneSet: &v1.TimeZoneSet{Zone: zone}},
	}, nil)
	require.NoError(t, err)
}

// Report days are the organisation's dates: a launch at 23:30 in Los Angeles
// (the next day in UTC) and one at 07:00 in Auckland (the day before in UTC)
// land on their local day, on both sides of a DST change, in ClickHouse's
// own grouping; an organisation without a zone keeps UTC days.
func TestReportDaysFollowTheOrganisationsZone(t *testing.T) {
	t.Parallel()
	svc := startZoneFixture(t)
	byDay := func(key, from, to string) []string {
		t.Helper()
		resp, err := client(t, svc.Addr(), key).GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{
			TeamIds: []string{"design"}, Range: &v1.UsageRange{FromDate: from, ToDate: to}})
		require.NoError(t, err)
		var out []string
		for _, d := range resp.GetDays() {
			out = append(out, fmt.Sprintf("%s %s %d", d.GetDay(), d.GetProductCode(), d.GetTokens()))
		}
		return out
	}
	require.Equal(t, []string{"2026-04-04 REVIT 10", "2026-04-05 ACAD 7", "2026-04-06 REVIT 10"}, byDay(acmeKey, "2026-04-01", "2026-04-30"))
	require.Equal(t, []string{"2026-04-05 ACAD 7"}, byDay(acmeKey, "2026-04-05", "2026-04-05"), "a range of dates is of local dates")
	require.Equal(t, []string{"2026-03-07 REVIT 10", "2026-03-08 REVIT 10", "2026-03-31 ACAD 7"}, byDay(globexKey, "2026-03-01", "2026-03-31"),
		"23:30 local is the local day, and the last evening of March stays in March")
	require.Equal(t, []string{"2026-03-09 REVIT 10"}, byDay(initechKey, "2026-03-01", "2026-03-31"), "without a zone: UTC days")

	who, err := client(t, svc.Addr(), globexKey).WhoAmI(t.Context(), &v1.WhoAmIRequest{})
	require.NoError(t, err)
	require.Equal(t, "America/Los_Angeles", who.GetTimeZone())

	gl := client(t, svc.Addr(), globexKey)
	t.Run("denials, users and exports", func(t *testing.T) { zoneDenialsUsersExports(t, gl) })
	t.Run("every report answers in a zone", func(t *testing.T) { zoneEveryReport(t, gl) })
	t.Run("capacity months", func(t *testing.T) { zoneCapacityMonths(t, gl) })
}

// startZoneFixture: acme in Auckland, globex in Los Angeles, initech in
// UTC, with launches late in the local evening around DST changes.
func startZoneFixture(t *testing.T) *reporting.Service {
	t.Helper()
	svc, natsURL := startService(t)
	setZone(t, natsURL, "acme", "Pacific/Auckland")
	setZone(t, natsURL, "globex", "America/Los_Angeles")
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	nz, err := time.LoadLocation("Pacific/Auckland")
	require.NoError(t, err)
	at := func(loc *time.Location, s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		require.NoError(t, err)
		return tm
	}
	events := []*v1.Event{
		// Auckland's DST ends at 03:00 on 5 April 2026 (UTC+13 to +12).
		charge("acme", "design", "nz-1", "REVIT", 10, at(nz, "2026-04-04 23:30")), // 10:30Z the 4th
		charge("acme", "design", "nz-2", "ACAD", 7, at(nz, "2026-04-05 00:30")),   // 11:30Z the 4th
		charge("acme", "design", "nz-3", "REVIT", 10, at(nz, "2026-04-06 07:00")), // 19:00Z the 5th
		// Los Angeles' DST starts at 02:00 on 8 March 2026 (UTC-8 to -7).
		charge("globex", "design", "la-1", "REVIT", 10, at(la, "2026-03-07 23:30")), // 07:30Z the 8th
		charge("globex", "design", "la-2", "REVIT", 10, at(la, "2026-03-08 23:30")), // 06:30Z the 9th
		charge("globex", "design", "la-3", "ACAD", 7, at(la, "2026-03-31 23:30")),   // April in UTC
		{EventId: "la-deny", OrgId: "globex", TeamId: "design", ServerTime: timestamppb.New(at(la, "2026-03-08 23:45")),
			Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: "ann", ProductCode: "REVIT",
				Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, TokensRequired: 10}}},
		charge("initech", "design", "utc-1", "REVIT", 10, at(la, "2026-03-08 23:30")), // no zone: UTC
		{EventId: "la-cap", OrgId: "globex", TeamId: "design", ServerTime: timestamppb.New(at(la, "2026-03-31 23:30")),
			Payload: &v1.Event_CapacityUsed{CapacityUsed: &v1.CapacityUsed{ProductCode: "API", UserId: "ann", Units: 5,
				CheckoutId: "k1", Capacity: &v1.CapacityFigures{Total: 100}}}},
	}
	js := logAs(t, natsURL, "ledger")
	for _, ev := range events {
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(ev.GetOrgId(), ev.GetTeamId()), ev, nil)
		require.NoError(t, err)
	}
	// The two zone settings are on the stream too.
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(events)+2) }, 20*time.Second, 10*time.Millisecond)
	return svc
}

func zoneDenialsUsersExports(t *testing.T, gl v1.ReportingServiceClient) {
	march := &v1.UsageRange{FromDate: "2026-03-01", ToDate: "2026-03-31"}
	den, err := gl.GetDenials(t.Context(), &v1.GetDenialsRequest{TeamIds: []string{"design"}, Range: march})
	require.NoError(t, err)
	require.Len(t, den.GetGroups(), 1)
	require.Equal(t, "2026-03-08", den.GetGroups()[0].GetKey())

	users, err := gl.GetUsageByUser(t.Context(), &v1.GetUsageByUserRequest{TeamIds: []string{"design"}, Range: march})
	require.NoError(t, err)
	require.Len(t, users.GetUsers(), 1)
	require.Equal(t, int64(3), users.GetUsers()[0].GetDaysUsed(), "three local days")

	rows := exportRows(t, gl, &v1.ExportRequest{TeamIds: []string{"design"}, Range: march, Kind: v1.ExportKind_EXPORT_KIND_USAGE})
	require.Len(t, rows, 4)
	var days []string
	for _, r := range rows[1:] {
		days = append(days, r[0])
	}
	require.Equal(t, []string{"2026-03-07", "2026-03-08", "2026-03-31"}, days, "the export's day column: %v", rows[0])
}

func zoneEveryReport(t *testing.T, gl v1.ReportingServiceClient) {
	ctx := t.Context()
	team, march := []string{"design"}, &v1.UsageRange{FromDate: "2026-03-01", ToDate: "2026-03-31"}
	_, err := gl.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: team, Range: march})
	require.NoError(t, err)
	prod, err := gl.GetUsageByProduct(ctx, &v1.GetUsageByProductRequest{TeamIds: team, Range: march})
	require.NoError(t, err)
	require.Equal(t, int64(27), prod.GetTotalTokens(), "the March evenings, local time")
	_, err = gl.GetUsageByAttribute(ctx, &v1.GetUsageByAttributeRequest{TeamIds: team, Range: march, AttributeKey: "project"})
	require.NoError(t, err)
	_, err = gl.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: team, Range: march})
	require.NoError(t, err)
	_, err = gl.GetSpend(ctx, &v1.GetSpendRequest{TeamIds: team, Range: march})
	require.NoError(t, err)
	_, err = gl.GetSubscriptionUsage(ctx, &v1.GetSubscriptionUsageRequest{TeamIds: team, Range: march})
	require.NoError(t, err)
	_, err = gl.AdviseLicensing(ctx, &v1.AdviseLicensingRequest{TeamIds: team})
	require.NoError(t, err)
	_, err = gl.Forecast(ctx, &v1.ForecastRequest{TeamId: "design"})
	require.NoError(t, err)
	_, err = gl.ListUsers(ctx, &v1.ListUsersRequest{TeamId: "design"})
	require.NoError(t, err)
	for _, kind := range []v1.ExportKind{v1.ExportKind_EXPORT_KIND_PACKS, v1.ExportKind_EXPORT_KIND_USERS, v1.ExportKind_EXPORT_KIND_SPEND} {
		exportRows(t, gl, &v1.ExportRequest{TeamIds: team, Range: march, Kind: kind})
	}
}

func zoneCapacityMonths(t *testing.T, gl v1.ReportingServiceClient) {
	resp, err := gl.GetCapacityUsage(t.Context(), &v1.GetCapacityUsageRequest{TeamId: "design",
		ProductCode: "API", Bucket: v1.CapacityBucket_CAPACITY_BUCKET_MONTH, Range: &v1.UsageRange{FromDate: "2026-03-01", ToDate: "2026-04-30"}})
	require.NoError(t, err)
	var used []string
	for _, b := range resp.GetBuckets() {
		used = append(used, fmt.Sprintf("%s %d", b.GetStartDate(), b.GetUnitsUsed()))
	}
	require.Equal(t, []string{"2026-03-01 5", "2026-04-01 0"}, used, "the last evening of March, local time, is March's")
}
