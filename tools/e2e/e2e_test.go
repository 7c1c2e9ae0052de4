// Package e2e walks the thin path through all four services, started
// in-process against an embedded NATS server and the local ClickHouse.
package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// clock is the servers' fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func dial(t *testing.T, addr, key string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcserver.Dial(addr, key)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// startStack runs the four services on free ports against an embedded NATS
// server and a fresh ClickHouse database, with a fake clock.
func startStack(t *testing.T) (*devstack.Stack, *clock) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	natsURL, _ := testkit.NATS(t)
	_, db := testkit.ClickHouse(t)
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	stack, err := devstack.Start(ctx, devstack.Options{
		NATSURL: natsURL, NATSCreds: testkit.AllCreds(t, natsURL), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0", AlertingListen: "127.0.0.1:0",
		Now: clk.Now,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, stack.Wait())
	})
	return stack, clk
}

func TestLaunchThroughAllServices(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	stack, clk := startStack(t)
	var err error

	ledger := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.AdminKey))
	ingest := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.LauncherKey))
	reports := v1.NewReportingServiceClient(dial(t, stack.Reporting.Addr(), devstack.AdminKey))
	alerts := v1.NewAlertingServiceClient(dial(t, stack.Alerting.Addr(), devstack.AdminKey))

	// Admin set-up: rates, a 50-token pack, two users.
	for code, rate := range map[string]int64{"REVIT": 10, "ACAD": 7} {
		_, err := ledger.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: code, DailyRate: rate})
		require.NoError(t, err)
	}
	_, err = ledger.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p1", Tokens: 50})
	require.NoError(t, err)
	for _, u := range []string{"ann", "bob", "carl", "dora"} {
		_, err := ledger.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: "design", UserId: u, ProductCodes: []string{"*"}})
		require.NoError(t, err)
	}

	n := 0
	launch := func(user, product string) *v1.LaunchResponse {
		t.Helper()
		n++
		resp, err := ingest.Launch(ctx, &v1.LaunchRequest{
			EventId: fmt.Sprintf("e2e-launch-%04d", n), TeamId: "design", UserId: user, ProductCode: product,
			ProductVersion: "2026", DeviceId: user + "-pc",
		})
		require.NoError(t, err)
		return resp
	}
	steps := []struct {
		user, product string
		decision      v1.Decision
		charged       int64
		balance       int64
	}{
		{"ann", "REVIT", v1.Decision_DECISION_AUTHORIZED, 10, 40},
		{"ann", "REVIT", v1.Decision_DECISION_AUTHORIZED, 0, 40}, // same window: free
		{"ann", "ACAD", v1.Decision_DECISION_AUTHORIZED, 7, 33},  // another product: another charge
		{"bob", "REVIT", v1.Decision_DECISION_AUTHORIZED, 10, 23},
		{"bob", "ACAD", v1.Decision_DECISION_AUTHORIZED, 7, 16},
		{"carl", "REVIT", v1.Decision_DECISION_AUTHORIZED, 10, 6}, // 12 % left: low balance
		{"dora", "REVIT", v1.Decision_DECISION_DENIED, 0, 6},      // the pool cannot pay 10
	}
	for i, s := range steps {
		resp := launch(s.user, s.product)
		require.Equal(t, s.decision, resp.GetDecision(), "step %d", i)
		require.Equal(t, s.charged, resp.GetTokensCharged(), "step %d", i)
		require.Equal(t, s.balance, resp.GetBalanceAfter(), "step %d", i)
		bal, err := ledger.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
		require.NoError(t, err)
		require.Equal(t, s.balance, bal.GetBalance().GetAvailable(), "step %d: ledger balance", i)
	}
	require.Equal(t, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, launch("dora", "REVIT").GetDenyReason())

	// A retried event id gets the same answer and no second charge.
	again, err := ingest.Launch(ctx, &v1.LaunchRequest{EventId: "e2e-launch-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	require.NoError(t, err)
	require.EqualValues(t, 10, again.GetTokensCharged())
	require.EqualValues(t, 40, again.GetBalanceAfter(), "the original answer")

	bal, err := ledger.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	require.EqualValues(t, 44, bal.GetBalance().GetUsed())
	require.EqualValues(t, 6, bal.GetBalance().GetAvailable())

	// ClickHouse's total equals the ledger's once the projection caught up.
	require.Eventually(t, func() bool {
		r, err := reports.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: []string{"design"}})
		return err == nil && r.GetTotalTokens() == bal.GetBalance().GetUsed()
	}, 30*time.Second, 100*time.Millisecond, "reporting total = ledger used")
	byDay, err := reports.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: []string{"design"}})
	require.NoError(t, err)
	perProduct := map[string]int64{}
	for _, d := range byDay.GetDays() {
		require.Equal(t, clk.Now().Format("2006-01-02"), d.GetDay())
		perProduct[d.GetProductCode()] += d.GetTokens()
	}
	require.Equal(t, map[string]int64{"REVIT": 30, "ACAD": 14}, perProduct)

	// The low-balance alert is on the ALERTS stream, streamed by WatchAlerts.
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	stream, err := alerts.WatchAlerts(wctx, &v1.WatchAlertsRequest{FromSequence: 1, TeamIds: []string{"design"}})
	require.NoError(t, err)
	got, err := stream.Recv()
	require.NoError(t, err)
	a := got.GetAlert()
	require.Equal(t, "low_balance", a.GetKind())
	require.Equal(t, "design", a.GetTeamId())
	require.InDelta(t, 6, a.GetFigures()["available"], 0.001)
	require.NotEmpty(t, a.GetMessage())
}

func actingFor(ctx context.Context, org string) context.Context { return auth.ActingFor(ctx, org) }
