package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/demo"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// TestConsoleInBrowser serves the web console from a dev stack with demo
// data and runs console/console.spec.mjs: playwright-core driving Debian's
// Chromium headless through sign-in, every page, a drill-down, a team's
// history, exports and a live alert. The figures the pages must show come from the ledger here.
// Screenshots of each page land in test-output/console at the repository root.
func TestConsoleInBrowser(t *testing.T) {
	spec, chromium, node := browserTools(t)
	ctx, cancel := context.WithCancel(t.Context())
	natsURL, _ := testkit.NATS(t)
	_, db := testkit.ClickHouse(t)
	mail := testkit.StartMailpit(t, false) // scheduled reports are read back from it
	stack, err := devstack.Start(ctx, devstack.Options{
		NATSURL: natsURL, NATSCreds: testkit.AllCreds(t, natsURL), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0",
		AlertingListen: "127.0.0.1:0", ConsoleListen: "127.0.0.1:0",
		Mail: email.Config{Addr: mail.SMTPAddr, From: "tokenmeter@e2e.test", TLS: email.TLSStartTLS, CA: mail.CA,
			User: mail.User, PasswordFile: mail.PasswordFile, Auth: "plain"},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, stack.Wait())
	})
	admin := dial(t, stack.Ledger.Addr(), devstack.AdminKey)
	// The demo's people are made up: its owner shows them, as the dev stack does.
	_, err = v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.OwnerKey)).SetPersonalData(ctx,
		&v1.SetPersonalDataRequest{Show: true, Reason: "demo data", EventId: "demo-personal-data"})
	require.NoError(t, err)
	js, err := jetstream.New(testkit.Connect(t, natsURL, "ingestion"))
	require.NoError(t, err)
	_, err = demo.LoadWithSessions(ctx, admin, dial(t, stack.Ledger.Addr(), devstack.ServiceKey), demo.UsageTo(js, devstack.DemoOrg),
		devstack.DemoOrg, time.Now(), 6)
	require.NoError(t, err)
	// Each usage table projects on its own: wait for all of them.
	usage, err := js.Stream(ctx, eventlog.UsageStream)
	require.NoError(t, err)
	info, err := usage.Info(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return stack.Reporting.UsageCaughtUpTo() >= info.State.LastSeq },
		30*time.Second, 100*time.Millisecond, "reporting projects the demo's session telemetry")

	// A name and address for the Directory page to show.
	_, err = v1.NewLedgerServiceClient(admin).SetUserProfile(ctx, &v1.SetUserProfileRequest{EventId: "e2e-profile-ann",
		UserId: "ann", DisplayName: "Ann Archer", Email: "ann@example.com"})
	require.NoError(t, err)

	// A budget change for the History page to show beside the demo's assignments.
	_, err = v1.NewLedgerServiceClient(admin).SetBudget(ctx, &v1.SetBudgetRequest{EventId: "e2e-history-budget", TeamId: "design",
		Budget: &v1.Budget{BudgetId: "e2e-history", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 1_000_000,
			Period: v1.BudgetPeriod_BUDGET_PERIOD_YEAR}})
	require.NoError(t, err)

	// The demo's planned project, for the Planning page.
	require.NoError(t, demo.LoadPlans(ctx, dial(t, stack.Reporting.Addr(), devstack.AdminKey), time.Now(), 30*time.Second))

	reports := v1.NewReportingServiceClient(dial(t, stack.Reporting.Addr(), devstack.AdminKey))
	want := consoleExpectations(t, v1.NewLedgerServiceClient(admin), reports)
	want.Plan = planExpectations(t, reports)
	// Only this demo was loaded with its session telemetry.
	sessionExpectations(t, reports, slices.Sorted(maps.Keys(want.Pools)), &want)
	expect, err := json.Marshal(want)
	require.NoError(t, err)
	shots, err := filepath.Abs(filepath.Join("..", "..", "test-output", "console"))
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(shots)) // no screenshot of an earlier run left to mislead

	run, stop := context.WithTimeout(ctx, 3*time.Minute)
	defer stop()
	cmd := exec.CommandContext(run, node, "--test", "--test-reporter=spec", "console.spec.mjs")
	cmd.Dir = spec
	cmd.Env = append(os.Environ(),
		"CONSOLE_URL="+stack.Reporting.ConsoleURL(), "ADMIN_KEY="+devstack.AdminKey, "OWNER_KEY="+devstack.OwnerKey,
		"SCREENSHOT_DIR="+shots, "EXPECT="+string(expect), "CHROMIUM="+chromium, "MAILPIT_URL="+mail.API)
	out, err := cmd.CombinedOutput()
	t.Logf("browser tests:\n%s", out)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("browser tests failed (exit %d); screenshots in %s", exit.ExitCode(), shots)
	}
	require.NoError(t, err)
}

// browserTools finds the browser tests' directory, Chromium and node.
func browserTools(t *testing.T) (spec, chromium, node string) {
	t.Helper()
	spec, err := filepath.Abs("console")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(spec, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed: run `make console-e2e-deps` (npm ci in tools/e2e/console)")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no Chromium at %s: install Debian's chromium package (.ci/run does) or set CHROMIUM", chromium)
	}
	node, err = exec.LookPath("node")
	require.NoError(t, err, "node is needed to run the browser tests")
	return spec, chromium, node
}

// expectations are what the console must show, read from the ledger (and
// the charge count from reporting, once it has caught up with the ledger).
type expectations struct {
	Used            int64            `json:"used"`
	Remaining       int64            `json:"remaining"`
	Team            string           `json:"team"`
	TeamRemaining   int64            `json:"teamRemaining"`
	Product         string           `json:"product"`
	Pools           map[string]int64 `json:"pools"`
	Charges         int64            `json:"charges"`
	AlertTeam       string           `json:"alertTeam"`
	RemoveTokens    int64            `json:"removeTokens"`
	Denials         int64            `json:"denials"`
	Currencies      []string         `json:"currencies"`
	Sessions        int64            `json:"sessions"`
	OpenNow         int64            `json:"openNow"`
	OpenUsers       []string         `json:"openUsers"`
	PeakUsers       int64            `json:"peakUsers"`
	BriefCharges    int64            `json:"briefCharges"`
	Devices         int64            `json:"devices"`
	SessionProducts int              `json:"sessionProducts"`
	Capacity        capacityWant     `json:"capacity"`
	// SubscriptionLaunches are the demo's launches by named subscription
	// over 12 months; MoveUser is the studio user the advice says to move.
	SubscriptionLaunches int64  `json:"subscriptionLaunches"`
	MoveUser             string `json:"moveUser"`
	SubscribedUser       string `json:"subscribedUser"`
	// DirectoryUsers is how many users the demo has.
	DirectoryUsers int      `json:"directoryUsers"`
	Plan           planWant `json:"plan"`
}

// planWant is what the Planning page shows of design's forecast and the
// demo's planned project: run-out dates as the cards print them.
type planWant struct {
	Name          string `json:"name"`
	Tokens        int64  `json:"tokens"`
	RunOutWith    string `json:"runOutWith"`
	RunOutWithout string `json:"runOutWithout"`
	// SeasonalTeam has a year of history: its forecast follows last year.
	SeasonalTeam string `json:"seasonalTeam"`
}

func planExpectations(t *testing.T, reports v1.ReportingServiceClient) planWant {
	t.Helper()
	f, err := reports.Forecast(t.Context(), &v1.ForecastRequest{TeamId: "design"})
	require.NoError(t, err)
	require.EqualValues(t, 1, f.GetPlans(), "the demo's planned project is in design's forecast")
	list, err := reports.ListPlannedProjects(t.Context(), &v1.ListPlannedProjectsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Len(t, list.GetProjects(), 1)
	shown := func(ts interface{ AsTime() time.Time }, set bool) string {
		if !set {
			return "not before the packs expire"
		}
		return ts.AsTime().UTC().Format(time.DateOnly)
	}
	seasonal, err := reports.Forecast(t.Context(), &v1.ForecastRequest{TeamId: demo.SeasonalTeam})
	require.NoError(t, err)
	require.True(t, seasonal.GetSeasonal(), "the demo's %s team has a year of history", demo.SeasonalTeam)
	require.Less(t, seasonal.GetMonthFactors()[7], 0.5, "August is its dip")
	require.Greater(t, seasonal.GetMonthFactors()[11], 1.5, "December its peak")
	return planWant{Name: list.GetProjects()[0].GetSpec().GetName(), Tokens: list.GetProjects()[0].GetEstimate().GetTokens(),
		RunOutWith: shown(f.GetRunOutAt(), f.GetRunOutAt() != nil), RunOutWithout: shown(f.GetRunOutAtWithoutPlans(), f.GetRunOutAtWithoutPlans() != nil),
		SeasonalTeam: demo.SeasonalTeam}
}

// capacityWant is what the demo's capacity cards and usage details show.
type capacityWant struct {
	Product string `json:"product"`
	Seats   string `json:"seats"`
	// Term is the card's line: "Ends in 45 days, refreshes in 26 days".
	Term string `json:"term"`
	// Used is the units used over the last 12 months, from reporting.
	Used int64 `json:"used"`
}

func consoleExpectations(t *testing.T, ledger v1.LedgerServiceClient, reports v1.ReportingServiceClient) expectations {
	t.Helper()
	ctx := t.Context()
	teams, err := ledger.ListTeams(ctx, &v1.ListTeamsRequest{})
	require.NoError(t, err)
	want := expectations{Team: "design", Product: "REVIT", Pools: map[string]int64{}, AlertTeam: "civil"}
	var ids []string
	for _, b := range teams.GetTeams() {
		ids = append(ids, b.GetTeamId())
		want.Used += b.GetUsed()
		want.Remaining += b.GetAvailable()
		want.Pools[b.GetTeamId()] = b.GetAvailable()
		if b.GetTeamId() == want.Team {
			want.TeamRemaining = b.GetAvailable()
		}
		if b.GetTeamId() == want.AlertTeam {
			// Down to 10 % of the live tokens: under the 20 % of low balance.
			want.RemoveTokens = b.GetAvailable() - b.GetLive()/10
		}
	}
	require.ElementsMatch(t, []string{"civil", "design", demo.StudioTeam, demo.SeasonalTeam}, ids)
	require.Positive(t, want.RemoveTokens, "the demo's civil pool must be above 10 %% for the live-alert step")
	last12 := &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_LAST_12_MONTHS}
	require.Eventually(t, func() bool {
		r, err := reports.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: ids, Range: last12})
		if err != nil || r.GetTotalTokens() != want.Used {
			return false
		}
		want.Charges = 0
		for _, d := range r.GetDays() {
			want.Charges += d.GetCharges()
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "reporting catches up with the ledger")
	// The demo's last event is a refusal: once it is projected, every one is.
	var denials *v1.GetDenialsResponse
	require.Eventually(t, func() bool {
		r, err := reports.GetDenials(ctx, &v1.GetDenialsRequest{TeamIds: ids, Range: last12, GroupBy: v1.DenialGrouping_DENIAL_GROUPING_REASON, PageSize: 1})
		denials = r
		return err == nil && len(r.GetDenials()) == 1 && strings.HasPrefix(r.GetDenials()[0].GetEventId(), "demo-refusal-design-zoe-expiry-")
	}, 30*time.Second, 100*time.Millisecond, "reporting projects the demo's last refusal")
	want.Denials = denials.GetTotalDenials()
	dir, err := reports.ListUsers(ctx, &v1.ListUsersRequest{PageSize: 1000})
	require.NoError(t, err)
	want.DirectoryUsers = len(dir.GetUsers())
	require.GreaterOrEqual(t, want.DirectoryUsers, len(demo.Teams["design"])+len(demo.Teams["civil"]), "every demo user")
	require.GreaterOrEqual(t, len(denials.GetGroups()), 4, "the demo refuses launches for several reasons")
	spend, err := reports.GetSpend(ctx, &v1.GetSpendRequest{TeamIds: ids, Range: last12})
	require.NoError(t, err)
	for _, m := range spend.GetTotalSpent() {
		want.Currencies = append(want.Currencies, m.GetCurrency())
	}
	require.Equal(t, []string{"EUR", "USD"}, want.Currencies, "the demo's packs are priced in two currencies")
	want.Capacity = capacityExpectations(t, teams.GetTeams(), reports)
	subs, err := reports.GetSubscriptionUsage(ctx, &v1.GetSubscriptionUsageRequest{TeamIds: ids, Range: last12})
	require.NoError(t, err)
	want.SubscriptionLaunches, want.MoveUser, want.SubscribedUser = subs.GetSubscriptionLaunches(), "max", "lee"
	require.Positive(t, want.SubscriptionLaunches, "the demo's studio has a subscribed user")
	return want
}

// capacityExpectations waits for the demo's capacity history to be
// projected and checks this month's use in reporting against the ledger's.
func capacityExpectations(t *testing.T, teams []*v1.Balance, reports v1.ReportingServiceClient) capacityWant {
	t.Helper()
	ctx := t.Context()
	want := capacityWant{Product: demo.CapacityAPI, Seats: demo.CapacitySeats}
	var card *v1.Capacity
	for _, b := range teams {
		for _, c := range b.GetCapacities() {
			if b.GetTeamId() == "design" && c.GetProductCode() == demo.CapacityAPI {
				card = c
			}
		}
	}
	require.NotNil(t, card, "the demo sets design's %s", demo.CapacityAPI)
	require.NotNil(t, card.GetRefreshesAt(), "the term outlasts this month")
	in := func(ts *timestamppb.Timestamp) int { return int(math.Ceil(time.Until(ts.AsTime()).Hours() / 24)) }
	want.Term = fmt.Sprintf("Ends in %d days, refreshes in %d days", in(card.GetEndsAt()), in(card.GetRefreshesAt()))
	usage := func(product string, b v1.CapacityBucket, preset v1.RangePreset) *v1.GetCapacityUsageResponse {
		r, err := reports.GetCapacityUsage(ctx, &v1.GetCapacityUsageRequest{TeamId: "design", ProductCode: product, Bucket: b,
			Range: &v1.UsageRange{Preset: preset}})
		require.NoError(t, err)
		return r
	}
	// The seats are checked out last: once they are projected, every use is.
	require.Eventually(t, func() bool {
		return usage(demo.CapacitySeats, v1.CapacityBucket_CAPACITY_BUCKET_DAY, v1.RangePreset_RANGE_PRESET_THIS_MONTH).GetUses() == 4
	}, 30*time.Second, 100*time.Millisecond, "reporting projects the demo's capacity uses")
	month := usage(demo.CapacityAPI, v1.CapacityBucket_CAPACITY_BUCKET_MONTH, v1.RangePreset_RANGE_PRESET_THIS_MONTH)
	require.Equal(t, card.GetInUse(), month.GetUnitsUsed(), "this month's history adds up to the ledger's use")
	want.Used = usage(demo.CapacityAPI, v1.CapacityBucket_CAPACITY_BUCKET_MONTH, v1.RangePreset_RANGE_PRESET_LAST_12_MONTHS).GetUnitsUsed()
	require.Positive(t, want.Used)
	return want
}

// sessionExpectations reads the sessions report once the demo's last
// telemetry, its sessions open now, is projected.
func sessionExpectations(t *testing.T, reports v1.ReportingServiceClient, ids []string, want *expectations) {
	t.Helper()
	var r *v1.GetSessionsResponse
	require.Eventually(t, func() bool {
		var err error
		r, err = reports.GetSessions(t.Context(), &v1.GetSessionsRequest{TeamIds: ids, Range: &v1.UsageRange{Preset: v1.RangePreset_RANGE_PRESET_LAST_12_MONTHS}})
		return err == nil && r.GetOpenNowTotal() == 4
	}, 30*time.Second, 100*time.Millisecond, "reporting projects the demo's sessions")
	want.Sessions, want.OpenNow, want.BriefCharges, want.Devices = r.GetSessions(), r.GetOpenNowTotal(), r.GetBriefCharges(), r.GetTotalDevices()
	want.SessionProducts = len(r.GetByProduct())
	for _, o := range r.GetOpenNow() {
		want.OpenUsers = append(want.OpenUsers, o.GetUserId())
	}
	slices.Sort(want.OpenUsers)
	for _, p := range r.GetByProduct() {
		want.PeakUsers = max(want.PeakUsers, p.GetPeakUsers())
	}
	require.Equal(t, []string{"ann", "bob", "carla", "gus"}, want.OpenUsers)
	require.Positive(t, want.BriefCharges, "the demo opens products briefly")
	require.Greater(t, want.PeakUsers, int64(1), "the demo's users overlap")
}
