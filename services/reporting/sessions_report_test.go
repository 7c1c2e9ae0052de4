package reporting_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// sessionsFixture writes launcher telemetry by hand: two days ago ann opens
// REVIT briefly on two devices, bob leaves it idle, cy's ACAD goes silent at
// launch; today dee has FUSION open now and eve's went silent; globex's gil
// opens REVIT for five minutes.
func sessionsFixture(t *testing.T) (acme, globex v1.ReportingServiceClient, base, now time.Time) {
	t.Helper()
	natsURL, _ := testkit.NATS(t)
	showPersonalData(t, natsURL, "acme")
	svc := startServiceWith(t, natsURL, func(*reporting.Config) {})
	js := logAs(t, natsURL, "admin")
	now = time.Now().UTC().Truncate(time.Second)
	base = now.Truncate(24*time.Hour).AddDate(0, 0, -2).Add(9 * time.Hour)
	m := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	ago := func(min int) time.Time { return now.Add(-time.Duration(min) * time.Minute) }
	type ev struct {
		org, user, product, device, kind string
		at                               time.Time
		tokens                           int64
	}
	events := []ev{
		{"acme", "ann", "REVIT", "pc-1", "launch", m(0), 10}, {"acme", "ann", "REVIT", "pc-1", "active", m(10), 0},
		{"acme", "ann", "REVIT", "pc-1", "end", m(12), 0},
		{"acme", "bob", "REVIT", "pc-2", "launch", m(5), 10}, {"acme", "bob", "REVIT", "pc-2", "active", m(20), 0},
		{"acme", "bob", "REVIT", "pc-2", "idle", m(35), 0}, {"acme", "bob", "REVIT", "pc-2", "idle", m(50), 0},
		{"acme", "bob", "REVIT", "pc-2", "end", m(60), 0},
		{"acme", "cy", "ACAD", "pc-2", "launch", m(10), 7},
		{"acme", "ann", "REVIT", "pc-3", "launch", m(30), 0}, {"acme", "ann", "REVIT", "pc-3", "end", m(40), 0},
		{"acme", "zed", "REVIT", "pc-6", "denied", m(45), 0},
		{"acme", "eve", "FUSION", "pc-5", "launch", ago(180), 2}, {"acme", "eve", "FUSION", "pc-5", "active", ago(120), 0},
		{"acme", "dee", "FUSION", "pc-4", "launch", ago(20), 2}, {"acme", "dee", "FUSION", "pc-4", "active", ago(10), 0},
		{"acme", "dee", "FUSION", "pc-4", "idle", ago(2), 0},
		{"globex", "gil", "REVIT", "pc-9", "launch", m(0), 10}, {"globex", "gil", "REVIT", "pc-9", "end", m(5), 0},
	}
	var last uint64
	for i, e := range events {
		msg := &v1.Event{EventId: fmt.Sprintf("s-%02d", i), OrgId: e.org, TeamId: "design", ServerTime: timestamppb.New(e.at)}
		window := "w-" + e.user
		switch e.kind {
		case "launch", "denied":
			l := &v1.LaunchReceived{UserId: e.user, ProductCode: e.product, DeviceId: e.device, WindowId: window,
				Decision: v1.Decision_DECISION_AUTHORIZED, TokensCharged: e.tokens}
			if e.kind == "denied" {
				l.Decision, l.WindowId = v1.Decision_DECISION_DENIED, ""
			}
			msg.Payload = &v1.Event_LaunchReceived{LaunchReceived: l}
		case "active", "idle":
			msg.Payload = &v1.Event_HeartbeatReceived{HeartbeatReceived: &v1.HeartbeatReceived{
				UserId: e.user, ProductCode: e.product, DeviceId: e.device, WindowId: window, Active: e.kind == "active"}}
		case "end":
			msg.Payload = &v1.Event_SessionEnded{SessionEnded: &v1.SessionEnded{
				UserId: e.user, ProductCode: e.product, DeviceId: e.device, WindowId: window}}
		}
		ack, err := eventlog.Append(t.Context(), js, eventlog.UsageSubject(e.org, "design"), msg, nil)
		require.NoError(t, err)
		last = ack.Sequence
	}
	require.Eventually(t, func() bool { return svc.UsageCaughtUpTo() >= last }, 20*time.Second, 10*time.Millisecond)
	return client(t, svc.Addr(), acmeKey), client(t, svc.Addr(), globexKey), base, now
}

func TestGetSessions(t *testing.T) {
	t.Parallel()
	acme, globex, base, now := sessionsFixture(t)
	ctx := t.Context()
	design := []string{"design"}
	r, err := acme.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: design, DeviceLimit: 2, PageSize: 2})
	require.NoError(t, err)
	require.Equal(t, int64(6), r.GetSessions())
	type prod struct {
		code                                             string
		sessions, users, open, active, idle, avg, bN, bT int64
	}
	var got []prod
	for _, p := range r.GetByProduct() {
		got = append(got, prod{p.GetProductCode(), p.GetSessions(), p.GetUsers(), p.GetOpenSeconds(), p.GetActiveSeconds(),
			p.GetIdleSeconds(), p.GetAverageSessionSeconds(), p.GetBriefCharges(), p.GetBriefTokens()})
	}
	require.Equal(t, []prod{
		{"REVIT", 3, 2, 4620, 2220, 2400, 1540, 1, 10},
		{"FUSION", 2, 2, 1980, 1500, 480, 990, 1, 2},
		{"ACAD", 1, 1, 0, 0, 0, 0, 1, 7},
	}, got)
	require.InDelta(t, 51.948, r.GetByProduct()[0].GetIdlePercent(), 0.001)
	require.Equal(t, int64(2), r.GetByProduct()[0].GetPeakUsers())

	day := base.Truncate(24 * time.Hour).Format(time.DateOnly)
	var peaks []string
	for _, p := range r.GetPeaks() {
		if p.GetDay() == day {
			peaks = append(peaks, fmt.Sprintf("%s %d %s", p.GetProductCode(), p.GetPeakUsers(), p.GetPeakAt().AsTime().Sub(base)))
		}
	}
	require.Equal(t, []string{"ACAD 1 10m0s", "REVIT 2 5m0s"}, peaks)

	require.Equal(t, int64(5), r.GetTotalDevices())
	require.Len(t, r.GetByDevice(), 2)
	pc2 := r.GetByDevice()[0]
	require.Equal(t, []any{"pc-2", int64(2), int64(2), []string{"ACAD", "REVIT"}, int64(3300)},
		[]any{pc2.GetDeviceId(), pc2.GetSessions(), pc2.GetUsers(), pc2.GetProductCodes(), pc2.GetOpenSeconds()})
	require.Equal(t, "pc-4", r.GetByDevice()[1].GetDeviceId())

	require.Equal(t, int64(1), r.GetOpenNowTotal())
	open := r.GetOpenNow()[0]
	require.Equal(t, []any{"dee", "FUSION", "pc-4", int64(600), int64(480)},
		[]any{open.GetUserId(), open.GetProductCode(), open.GetDeviceId(), open.GetActiveSeconds(), open.GetIdleSeconds()})
	require.True(t, now.Add(-20*time.Minute).Equal(open.GetStartedAt().AsTime()))

	// Brief: eve's silent FUSION, cy's ACAD, ann's REVIT (two sessions, 22 min); dee's is open, bob's was long.
	require.Equal(t, []int64{3, 19, 29, 30}, []int64{r.GetBriefCharges(), r.GetBriefTokens(), r.GetChargedTokens(), int64(r.GetBriefMinutes())})
	require.Equal(t, []string{"eve", "cy"}, briefUsers(r))
	require.NotEmpty(t, r.GetNextPageToken())
	next, err := acme.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: design, DeviceLimit: 2, PageSize: 2, PageToken: r.GetNextPageToken()})
	require.NoError(t, err)
	require.Equal(t, []string{"ann"}, briefUsers(next))
	require.Equal(t, []int64{2, 1320, 1320}, []int64{next.GetBrief()[0].GetSessions(), next.GetBrief()[0].GetOpenSeconds(), next.GetBrief()[0].GetActiveSeconds()})
	require.Empty(t, next.GetNextPageToken())

	short, err := acme.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: design, BriefMinutes: 5, ProductCodes: []string{"ACAD", "REVIT"}})
	require.NoError(t, err)
	require.Equal(t, []string{"cy"}, briefUsers(short))
	require.Len(t, short.GetByProduct(), 2)
	require.Empty(t, short.GetOpenNow(), "dee's FUSION is outside the products asked")

	g, err := globex.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: design})
	require.NoError(t, err)
	require.Equal(t, int64(1), g.GetSessions(), "globex sees its own sessions only")
	require.Len(t, g.GetBrief(), 1)
	require.True(t, strings.HasPrefix(g.GetBrief()[0].GetUserId(), privacy.Prefix), "globex sees pseudonyms, not %q", g.GetBrief()[0].GetUserId())
}

func briefUsers(r *v1.GetSessionsResponse) []string {
	var out []string
	for _, b := range r.GetBrief() {
		out = append(out, b.GetUserId())
	}
	return out
}

func TestGetSessionsBounds(t *testing.T) {
	t.Parallel()
	acme, _, _, _ := sessionsFixture(t)
	ctx := t.Context()
	_, err := acme.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: []string{"design"}, BriefMinutes: -1, DeviceLimit: 5000, PageSize: 5000})
	for _, field := range []string{"brief_minutes", "device_limit", "page_size"} {
		require.Contains(t, refusedFields(t, err), field)
	}
	_, err = acme.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: []string{"design"}, BriefMinutes: 24*60 + 1})
	require.Equal(t, []string{"brief_minutes"}, refusedFields(t, err))
	r, err := acme.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: []string{"design"}, PageSize: 1})
	require.NoError(t, err)
	_, err = acme.GetSessions(ctx, &v1.GetSessionsRequest{TeamIds: []string{"design"}, PageSize: 1, BriefMinutes: 60, PageToken: r.GetNextPageToken()})
	require.Equal(t, []string{"page_token"}, refusedFields(t, err), "a token is good only for the query it came from")
	_, err = acme.GetSessions(ctx, &v1.GetSessionsRequest{})
	require.Equal(t, []string{"team_ids"}, refusedFields(t, err))
}
