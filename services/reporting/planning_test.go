package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

const viewerKey = "acme-viewer-secret"

// startPlanningFixture is acme's design team with the catalog's REVIT (10)
// and FUSION (2), a 3,000-token pack and 10 tokens a day for the last 90
// days, projected; it returns the service and the Monday 14 days ahead.
func startPlanningFixture(t *testing.T) (*reporting.Service, time.Time) {
	t.Helper()
	natsURL, _ := testkit.NATS(t)
	svc := startServiceWith(t, natsURL, func(c *reporting.Config) { c.APIKeys += "," + viewerKey + ":acme:viewer" })
	js := logAs(t, natsURL, "ledger")
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	appendEv := func(subject string, ev *v1.Event) {
		_, err := eventlog.Append(t.Context(), js, subject, ev, nil)
		require.NoError(t, err)
	}
	n := 0
	for _, r := range []struct {
		code string
		rate int64
	}{{"REVIT", 10}, {"FUSION", 2}} {
		n++
		appendEv(eventlog.CatalogSubject("acme"), &v1.Event{EventId: "rate-" + r.code, OrgId: "acme", ServerTime: timestamppb.New(today.AddDate(0, 0, -200)),
			Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{ProductCode: r.code, Name: r.code, DailyRate: r.rate}}})
	}
	n++
	appendEv(eventlog.LedgerSubject("acme", "design"), &v1.Event{EventId: "pack-1", OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(today.AddDate(0, 0, -100)),
		Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "pk", Tokens: 3000, PurchasedAt: timestamppb.New(today.AddDate(0, 0, -100)),
			ExpiresAt: timestamppb.New(today.AddDate(1, 0, 0))}}})
	for i := 1; i <= 90; i++ {
		n++
		appendEv(eventlog.LedgerSubject("acme", "design"), charge("acme", "design", fmt.Sprintf("c-%03d", i), "FUSION", 10, today.AddDate(0, 0, -i).Add(time.Hour)))
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(n) }, 20*time.Second, 10*time.Millisecond)
	monday := today.AddDate(0, 0, 14)
	for monday.Weekday() != time.Monday {
		monday = monday.AddDate(0, 0, 1)
	}
	return svc, monday
}

// bridge is 10 users on REVIT five days a week for four weeks from monday:
// 20 workdays × 10 users × 10 tokens.
func bridge(monday time.Time) *v1.PlanSpec {
	return &v1.PlanSpec{Name: "Bridge tender", Users: 10, DaysPerWeek: 5, ProductCodes: []string{"REVIT"},
		StartDate: monday.Format(time.DateOnly), EndDate: monday.AddDate(0, 0, 27).Format(time.DateOnly)}
}

func TestPlannedProjectsThroughGRPC(t *testing.T) {
	t.Parallel()
	svc, monday := startPlanningFixture(t)
	admin, viewer, globex := client(t, svc.Addr(), acmeKey), client(t, svc.Addr(), viewerKey), client(t, svc.Addr(), globexKey)
	ctx := t.Context()

	est, err := viewer.EstimatePlan(ctx, &v1.EstimatePlanRequest{TeamId: "design", Plan: bridge(monday)})
	require.NoError(t, err)
	require.Equal(t, int64(2000), est.GetEstimate().GetTokens())
	require.Equal(t, int64(20), est.GetEstimate().GetDaysPerUser())
	require.Equal(t, int64(10), est.GetEstimate().GetProducts()[0].GetDailyRate(), "the rate from the ledger's product table")
	require.NotNil(t, est.GetRunOutAtWithoutPlan())
	require.True(t, est.GetRunOutAtWithPlan().AsTime().Before(est.GetRunOutAtWithoutPlan().AsTime()), "the plan brings the run-out forward")

	_, err = viewer.AddPlannedProject(ctx, &v1.AddPlannedProjectRequest{EventId: "plan-bridge-1", TeamId: "design", Plan: bridge(monday)})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a viewer changes nothing")
	added, err := admin.AddPlannedProject(ctx, &v1.AddPlannedProjectRequest{EventId: "plan-bridge-1", TeamId: "design", Plan: bridge(monday)})
	require.NoError(t, err)
	require.Equal(t, "plan-bridge-1", added.GetProject().GetPlanId())
	require.Regexp(t, `^admin:`, added.GetProject().GetAddedBy())
	again, err := admin.AddPlannedProject(ctx, &v1.AddPlannedProjectRequest{EventId: "plan-bridge-1", TeamId: "design", Plan: bridge(monday.AddDate(0, 0, 7))})
	require.NoError(t, err, "a retry answers the plan recorded")
	require.Equal(t, added.GetProject().GetSpec().GetStartDate(), again.GetProject().GetSpec().GetStartDate())

	list, err := viewer.ListPlannedProjects(ctx, &v1.ListPlannedProjectsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Len(t, list.GetProjects(), 1, "the retry recorded nothing more")
	require.Equal(t, int64(2000), list.GetProjects()[0].GetEstimate().GetTokens())
	other, err := globex.ListPlannedProjects(ctx, &v1.ListPlannedProjectsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Empty(t, other.GetProjects(), "confined to the caller's organisation")

	f, err := viewer.Forecast(ctx, &v1.ForecastRequest{TeamId: "design"})
	require.NoError(t, err)
	require.EqualValues(t, 1, f.GetPlans())
	require.Equal(t, int64(2000), f.GetPlannedTokens())
	require.Equal(t, est.GetRunOutAtWithPlan().AsTime(), f.GetRunOutAt().AsTime())
	require.Equal(t, est.GetRunOutAtWithoutPlan().AsTime(), f.GetRunOutAtWithoutPlans().AsTime())
	require.False(t, f.GetSeasonal(), "90 days are no year")
	bare, err := viewer.Forecast(ctx, &v1.ForecastRequest{TeamId: "design", ExcludePlans: true})
	require.NoError(t, err)
	require.Zero(t, bare.GetPlans())
	require.Equal(t, f.GetRunOutAtWithoutPlans().AsTime(), bare.GetRunOutAt().AsTime())
	removePlan(t, admin, viewer, bare)
}

// removePlan withdraws plan-bridge-1: the forecast is then the one without it.
func removePlan(t *testing.T, admin, viewer v1.ReportingServiceClient, bare *v1.ForecastResponse) {
	t.Helper()
	ctx := t.Context()
	_, err := admin.RemovePlannedProject(ctx, &v1.RemovePlannedProjectRequest{EventId: "plan-rm-0", TeamId: "design", PlanId: "plan-nowhere"})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = admin.RemovePlannedProject(ctx, &v1.RemovePlannedProjectRequest{EventId: "plan-bridge-1", TeamId: "design", PlanId: "plan-bridge-1"})
	require.Equal(t, []string{"event_id"}, fields(t, err), "the add's event id is not a removal's")
	for range 2 {
		_, err = admin.RemovePlannedProject(ctx, &v1.RemovePlannedProjectRequest{EventId: "plan-rm-1", TeamId: "design", PlanId: "plan-bridge-1"})
		require.NoError(t, err, "a retry answers the same")
	}
	list, err := viewer.ListPlannedProjects(ctx, &v1.ListPlannedProjectsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Empty(t, list.GetProjects())
	f, err := viewer.Forecast(ctx, &v1.ForecastRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Zero(t, f.GetPlans())
	require.Equal(t, bare.GetRunOutAt().AsTime(), f.GetRunOutAt().AsTime())
}

func TestListPlannedProjectsPages(t *testing.T) {
	t.Parallel()
	svc, monday := startPlanningFixture(t)
	admin := client(t, svc.Addr(), acmeKey)
	for i := range 3 {
		_, err := admin.AddPlannedProject(t.Context(), &v1.AddPlannedProjectRequest{EventId: fmt.Sprintf("plan-page-%d", i), TeamId: "design", Plan: bridge(monday)})
		require.NoError(t, err)
	}
	var ids []string
	token := ""
	for pages := 1; ; pages++ {
		resp, err := admin.ListPlannedProjects(t.Context(), &v1.ListPlannedProjectsRequest{TeamId: "design", PageSize: 2, PageToken: token})
		require.NoError(t, err)
		for _, p := range resp.GetProjects() {
			ids = append(ids, p.GetPlanId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			require.Equal(t, 2, pages)
			break
		}
	}
	require.Equal(t, []string{"plan-page-0", "plan-page-1", "plan-page-2"}, ids)
	_, err := admin.ListPlannedProjects(t.Context(), &v1.ListPlannedProjectsRequest{TeamId: "civil", PageSize: 2, PageToken: "bad"})
	require.Equal(t, []string{"page_token"}, fields(t, err))
	_, err = admin.ListPlannedProjects(t.Context(), &v1.ListPlannedProjectsRequest{TeamId: "design", PageSize: 1001})
	require.Equal(t, []string{"page_size"}, fields(t, err))
}

func TestPlanSpecIsChecked(t *testing.T) {
	t.Parallel()
	svc, monday := startPlanningFixture(t)
	admin := client(t, svc.Addr(), acmeKey)
	edit := func(change func(*v1.PlanSpec)) *v1.PlanSpec {
		p := bridge(monday)
		change(p)
		return p
	}
	for _, c := range []struct {
		name string
		plan *v1.PlanSpec
		want []string
	}{
		{"unknown product", edit(func(p *v1.PlanSpec) { p.ProductCodes = []string{"REVIT", "NOPE"} }), []string{"plan.product_codes[1]"}},
		{"both kinds of days", edit(func(p *v1.PlanSpec) { p.Days = 3 }), []string{"plan.days_per_week"}},
		{"neither kind of days", edit(func(p *v1.PlanSpec) { p.DaysPerWeek = 0 }), []string{"plan.days_per_week"}},
		{"eight days a week", edit(func(p *v1.PlanSpec) { p.DaysPerWeek = 8 }), []string{"plan.days_per_week"}},
		{"more days than the plan lasts", edit(func(p *v1.PlanSpec) { p.DaysPerWeek, p.Days = 0, 29 }), []string{"plan.days"}},
		{"ends before it starts", edit(func(p *v1.PlanSpec) { p.EndDate = monday.AddDate(0, 0, -1).Format(time.DateOnly) }), []string{"plan.end_date"}},
		{"too many users and no name", edit(func(p *v1.PlanSpec) { p.Users, p.Name = 10001, "" }), []string{"plan.name", "plan.users"}},
		{"not a date", edit(func(p *v1.PlanSpec) { p.StartDate = "next week" }), []string{"plan.start_date"}},
		{"too far ahead", edit(func(p *v1.PlanSpec) { p.StartDate, p.EndDate = "2099-01-01", "2099-01-02" }), []string{"plan.start_date", "plan.end_date"}},
		{"no plan", nil, []string{"plan"}},
	} {
		_, err := admin.EstimatePlan(t.Context(), &v1.EstimatePlanRequest{TeamId: "design", Plan: c.plan})
		require.Equal(t, c.want, fields(t, err), c.name)
		_, err = admin.AddPlannedProject(t.Context(), &v1.AddPlannedProjectRequest{EventId: "plan-bad-0001", TeamId: "design", Plan: c.plan})
		require.Equal(t, c.want, fields(t, err), c.name)
	}
	_, err := admin.AddPlannedProject(t.Context(), &v1.AddPlannedProjectRequest{EventId: "x", TeamId: "design", Plan: bridge(monday)})
	require.Equal(t, []string{"event_id"}, fields(t, err))
}

// fields are the fields an InvalidArgument names.
func fields(t *testing.T, err error) []string {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), "%v", err)
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}
