package reporting_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

func mailVia(mp *testkit.Mailpit) func(*reporting.Config) {
	return func(c *reporting.Config) {
		c.Mail.SMTP = email.Config{Addr: mp.SMTPAddr, From: "reports@tokenmeter.test", TLS: email.TLSStartTLS, CA: mp.CA,
			User: mp.User, PasswordFile: mp.PasswordFile, Auth: "plain"}
		c.Mail.ScheduleTick = 20 * time.Millisecond
	}
}

// A usage summary scheduled through the RPC is e-mailed at once for the
// last complete month, from ClickHouse, with its CSV attached, and only
// once, even with a second replica running.
func TestScheduledUsageSummaryByEmail(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	mp := testkit.StartMailpit(t, false)
	svc := startServiceWith(t, natsURL, mailVia(mp))
	js := logAs(t, natsURL, "ledger")
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	last := first.AddDate(0, 1, -1)
	events := []*v1.Event{
		charge("acme", "design", "s1", "REVIT", 10, first.Add(9*time.Hour)),
		charge("acme", "design", "s2", "ACAD", 7, first.AddDate(0, 0, 9).Add(9*time.Hour)),
		charge("acme", "design", "s3", "ACAD", 7, now), // this month: not in the report
		charge("acme", "ops", "s4", "REVIT", 10, first.Add(9*time.Hour)),
		{EventId: "s5", OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(first),
			Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p-soon", Tokens: 500,
				PurchasedAt: timestamppb.New(first), ExpiresAt: timestamppb.New(now.AddDate(0, 0, 20))}}},
	}
	for _, ev := range events {
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(ev.GetOrgId(), ev.GetTeamId()), ev, nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(len(events)) }, 10*time.Second, 10*time.Millisecond)

	acme := client(t, svc.Addr(), acmeKey)
	created, err := acme.CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: &v1.ReportSchedule{
		ScheduleId: "monthly-usage", Report: v1.ScheduledReport_SCHEDULED_REPORT_USAGE_SUMMARY, Period: v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY,
		TeamIds: []string{"design"}, Recipients: []string{"cfo@acme.test", "licences@acme.test"}}})
	require.NoError(t, err)
	require.NotEmpty(t, created.GetSchedule().GetCreatedBy())
	label := first.Format("2006-01")

	got := mp.WaitMessages(t, 1, 15*time.Second)
	msg := mp.Message(t, got[0].ID)
	require.Equal(t, "[tokenmeter] usage summary "+label, msg.Subject)
	require.Len(t, msg.To, 2)
	require.Contains(t, msg.Text, fmt.Sprintf("Tokens used %s to %s: 17", first.Format(time.DateOnly), last.Format(time.DateOnly)))
	require.Len(t, msg.Attachments, 1)
	require.Equal(t, fmt.Sprintf("tokenmeter-usage-%s-%s.csv", first.Format(time.DateOnly), last.Format(time.DateOnly)), msg.Attachments[0].FileName)
	csv := string(mp.Part(t, msg.ID, msg.Attachments[0].PartID))
	require.Len(t, strings.Split(strings.TrimSpace(csv), "\n"), 3, "a header and the month's two charges of design:\n%s", csv)
	require.Contains(t, csv, ",REVIT,")
	require.NotContains(t, csv, "s4", "another team's charge")

	startServiceWith(t, natsURL, mailVia(mp)) // a second replica, or the same after a restart
	time.Sleep(300 * time.Millisecond)        // many ticks of both
	require.Len(t, mp.Messages(t), 1, "one mail for the month")
	list, err := acme.ListReportSchedules(t.Context(), &v1.ListReportSchedulesRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetSchedules(), 1)
	require.Equal(t, label, list.GetSchedules()[0].GetLastPeriod())
	require.Equal(t, "sent", list.GetSchedules()[0].GetLastState())

	_, err = acme.CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: &v1.ReportSchedule{
		ScheduleId: "packs", Report: v1.ScheduledReport_SCHEDULED_REPORT_EXPIRING_PACKS, Period: v1.SchedulePeriod_SCHEDULE_PERIOD_WEEKLY,
		Format: v1.ExportFormat_EXPORT_FORMAT_XLSX, TeamIds: []string{"design"}, Recipients: []string{"cfo@acme.test"}}})
	require.NoError(t, err)
	got = mp.WaitMessages(t, 2, 15*time.Second)
	packs := mp.Message(t, got[0].ID)
	require.True(t, strings.HasPrefix(packs.Subject, "[tokenmeter] expiring packs "), packs.Subject)
	require.Contains(t, packs.Text, "design p-soon: 500 of 500 tokens left")
	require.True(t, strings.HasSuffix(packs.Attachments[0].FileName, ".xlsx"))
	require.Equal(t, "PK", string(mp.Part(t, packs.ID, packs.Attachments[0].PartID)[:2]), "an XLSX is a zip")

	_, err = acme.CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: &v1.ReportSchedule{
		ScheduleId: "forecast", Report: v1.ScheduledReport_SCHEDULED_REPORT_FORECAST, Period: v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY,
		TeamIds: []string{"design"}, Recipients: []string{"cfo@acme.test"}}})
	require.NoError(t, err)
	got = mp.WaitMessages(t, 3, 15*time.Second)
	fc := mp.Message(t, got[0].ID)
	require.Equal(t, "[tokenmeter] forecast "+label, fc.Subject)
	require.Contains(t, fc.Text, "design: ")
	require.Equal(t, "tokenmeter-forecast-"+label+".csv", fc.Attachments[0].FileName)
	rows := strings.Split(strings.TrimSpace(string(mp.Part(t, fc.ID, fc.Attachments[0].PartID))), "\n")
	require.Equal(t, "team_id,month,tokens_used,cumulative_tokens,cumulative_percent,projected,projected_run_out_month", strings.TrimSpace(rows[0]))
	require.Len(t, rows, 13, "a header and the term's 12 months")
}

func TestReportScheduleRPCs(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	mp := testkit.StartMailpit(t, false)
	svc := startServiceWith(t, natsURL, mailVia(mp))
	acme, globex := client(t, svc.Addr(), acmeKey), client(t, svc.Addr(), globexKey)
	_, err := acme.CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: &v1.ReportSchedule{
		Report: v1.ScheduledReport_SCHEDULED_REPORT_FORECAST, Recipients: []string{"Ops <ops@acme.test>"}}})
	require.ElementsMatch(t, []string{"schedule.period", "schedule.team_ids", "schedule.recipients"}, refusedFields(t, err))
	ok := &v1.ReportSchedule{Report: v1.ScheduledReport_SCHEDULED_REPORT_FORECAST, Period: v1.SchedulePeriod_SCHEDULE_PERIOD_WEEKLY,
		TeamIds: []string{"design"}, Recipients: []string{"ops@acme.test"}}
	made, err := acme.CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: ok})
	require.NoError(t, err)
	id := made.GetSchedule().GetScheduleId()
	require.True(t, strings.HasPrefix(id, "rs-"), id)
	require.Equal(t, v1.ExportFormat_EXPORT_FORMAT_CSV, made.GetSchedule().GetFormat())
	ok.ScheduleId = id
	_, err = acme.CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: ok})
	require.Equal(t, codes.AlreadyExists, status.Code(err))

	other, err := globex.ListReportSchedules(t.Context(), &v1.ListReportSchedulesRequest{})
	require.NoError(t, err)
	require.Empty(t, other.GetSchedules(), "another organisation's schedules are not listed")
	_, err = globex.DeleteReportSchedule(t.Context(), &v1.DeleteReportScheduleRequest{ScheduleId: id})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = client(t, svc.Addr(), launchKey).ListReportSchedules(t.Context(), &v1.ListReportSchedulesRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))

	_, err = acme.DeleteReportSchedule(t.Context(), &v1.DeleteReportScheduleRequest{ScheduleId: id})
	require.NoError(t, err)
	list, err := acme.ListReportSchedules(t.Context(), &v1.ListReportSchedulesRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetSchedules())

	// Without -smtp-addr there is nothing to schedule with.
	plain := startServiceWith(t, natsURL, nil)
	_, err = client(t, plain.Addr(), acmeKey).CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: ok})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
}

// A monthly schedule of an organisation in Auckland sends March at
// Auckland's midnight, while it is still the 31st in UTC, and its report
// counts Auckland's days: the launch early on 1 March local (28 February in
// UTC) is in it, the one late on 28 February local is not; the mail names the zone.
func TestScheduledReportFollowsTheOrganisationsZone(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	mp := testkit.StartMailpit(t, false)
	setZone(t, natsURL, "acme", "Pacific/Auckland")
	nz, err := time.LoadLocation("Pacific/Auckland")
	require.NoError(t, err)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, nz)
		require.NoError(t, err)
		return tm
	}
	clock := time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC) // 09:00 on 1 April in Auckland
	svc := startServiceWith(t, natsURL, func(c *reporting.Config) {
		mailVia(mp)(c)
		c.Mail.Now = func() time.Time { return clock }
	})
	events := []*v1.Event{
		charge("acme", "design", "z1", "REVIT", 10, at("2026-02-28 23:00")),
		charge("acme", "design", "z2", "ACAD", 7, at("2026-03-01 05:00")),
		charge("acme", "design", "z3", "REVIT", 10, at("2026-03-31 22:00")),
	}
	js := logAs(t, natsURL, "ledger")
	for _, ev := range events {
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject(ev.GetOrgId(), ev.GetTeamId()), ev, nil)
		require.NoError(t, err)
	}
	acme := client(t, svc.Addr(), acmeKey)
	require.Eventually(t, func() bool {
		who, err := acme.WhoAmI(t.Context(), &v1.WhoAmIRequest{})
		return err == nil && who.GetTimeZone() == "Pacific/Auckland" && svc.CaughtUpTo() >= uint64(len(events)+1)
	}, 20*time.Second, 10*time.Millisecond)

	_, err = acme.CreateReportSchedule(t.Context(), &v1.CreateReportScheduleRequest{Schedule: &v1.ReportSchedule{
		ScheduleId: "monthly", Report: v1.ScheduledReport_SCHEDULED_REPORT_USAGE_SUMMARY, Period: v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY,
		TeamIds: []string{"design"}, Recipients: []string{"cfo@acme.test"}}})
	require.NoError(t, err)
	got := mp.WaitMessages(t, 1, 15*time.Second)
	msg := mp.Message(t, got[0].ID)
	require.Equal(t, "[tokenmeter] usage summary 2026-03", msg.Subject, "Auckland's March is over")
	require.Contains(t, msg.Text, "dates are days in Pacific/Auckland")
	require.Contains(t, msg.Text, "Tokens used 2026-03-01 to 2026-03-31: 17")
	csv := string(mp.Part(t, msg.ID, msg.Attachments[0].PartID))
	require.Len(t, strings.Split(strings.TrimSpace(csv), "\n"), 3, "a header and Auckland's two March launches:\n%s", csv)
}
