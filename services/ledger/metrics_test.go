package ledger_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

// metricsAddr serves this test process's metrics as -metrics-listen does; set
// up once, as the instruments bind to the first provider installed.
var metricsAddr = sync.OnceValue(func() string {
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "ledger-test", MetricsListen: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	return tel.MetricsAddr()
})

// startAlone runs a ledger replica outside any ring (it decides every pool it
// is asked about) that snapshots a pool every few events.
func startAlone(t *testing.T, natsURL string) *replica {
	t.Helper()
	var cfg ledger.Config
	cfg.NATSURL, cfg.APIKeys, cfg.Listen = natsURL, keys, "127.0.0.1:0"
	cfg.NATSCreds, cfg.UserHashKey = testkit.Creds(t, natsURL, "ledger"), testkit.UserHashKey
	cfg.StreamReplicas, cfg.ShutdownTimeout, cfg.SnapshotEvery, cfg.IdleTimeout = 1, 5*time.Second, 1, 15*time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := ledger.New(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	r := &replica{svc: svc, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- svc.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// Decisions are counted by outcome and reason and timed per RPC; two
// replicas writing one pool count the conflict and the retry it costs; the
// pools held and the age of their snapshots are observed.
func TestLedgerMetrics(t *testing.T) {
	addr := metricsAddr()
	natsURL, _ := testkit.NATS(t)
	a, b := startAlone(t, natsURL), startAlone(t, natsURL)
	before := testkit.Scrape(t, addr)
	require.Zero(t, before.Value("tokenmeter_ledger_snapshot_age_seconds"), "no snapshot yet")
	require.True(t, before.Has("tokenmeter_ledger_leader_moves_total"), "leader moves, a rare event, exist at 0")
	ctx := auth.ActingFor(t.Context(), "acme")
	admin := client(t, a.svc.Addr(), adminKey)
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "metrics-rate", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: "metrics-pack", TeamId: "design", PackId: "p1", Tokens: 15})
	require.NoError(t, err)
	_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "metrics-assign", TeamId: "design", UserId: "ann", ProductCodes: []string{"*"}})
	require.NoError(t, err)
	_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "metrics-assign-2", TeamId: "design", UserId: "cat", ProductCodes: []string{"*"}})
	require.NoError(t, err)

	onA, onB := client(t, a.svc.Addr(), serviceKey), client(t, b.svc.Addr(), serviceKey)
	launch := func(c v1.LedgerServiceClient, id, user string) v1.Decision {
		resp, err := c.Authorize(ctx, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: user, ProductCode: "REVIT"}})
		require.NoError(t, err)
		return resp.GetResult().GetDecision()
	}
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch(onA, "metrics-1", "ann"))
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch(onA, "metrics-1", "ann"), "a retry")
	require.Equal(t, v1.Decision_DECISION_DENIED, launch(onA, "metrics-2", "bob"), "not assigned")
	require.Equal(t, v1.Decision_DECISION_DENIED, launch(onA, "metrics-3", "cat"), "5 tokens left")
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch(onB, "metrics-4", "ann"), "covered by the open window")
	// a's pool is behind b's append: its append conflicts, it catches up and decides again.
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch(onA, "metrics-5", "ann"))
	batch, err := onA.AuthorizeBatch(ctx, &v1.AuthorizeBatchRequest{Launches: []*v1.AuthorizeRequest{
		{Launch: &v1.LaunchRequest{EventId: "metrics-3", TeamId: "design", UserId: "cat", ProductCode: "REVIT"}},
		{Launch: &v1.LaunchRequest{EventId: "metrics-6", TeamId: "design", UserId: "bob", ProductCode: "REVIT"}},
	}})
	require.NoError(t, err)
	require.Len(t, batch.GetOutcomes(), 2)
	_, err = admin.GrantSubscription(ctx, &v1.GrantSubscriptionRequest{EventId: "metrics-sub", TeamId: "design", UserId: "sam", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch(onA, "metrics-7", "sam"), "by subscription")

	after := testkit.Scrape(t, addr)
	moved := func(name string, labels ...string) float64 {
		return after.Value(name, labels...) - before.Value(name, labels...)
	}
	decided := func(outcome, reason string) float64 {
		return moved("tokenmeter_ledger_decisions_total", "outcome", outcome, "reason", reason)
	}
	require.Equal(t, 3.0, decided("authorized", ""))
	require.Equal(t, 2.0, decided("duplicate", ""), "metrics-1 twice, metrics-3 in the batch")
	require.Equal(t, 2.0, decided("refused", "user_not_assigned"))
	require.Equal(t, 1.0, decided("refused", "insufficient_tokens"))
	require.Equal(t, 1.0, decided("authorized", "subscription"))
	require.Equal(t, 9.0, moved("tokenmeter_ledger_decisions_total"))
	timed := func(rpc string) float64 {
		return moved("tokenmeter_ledger_decision_duration_seconds_count", "rpc", rpc)
	}
	require.Equal(t, 7.0, timed("Authorize"))
	require.Equal(t, 2.0, timed("AuthorizeBatch"))
	require.Equal(t, 2.0, timed("AssignUser"))
	require.Equal(t, 1.0, timed("AddPack"))
	require.Equal(t, 1.0, moved("tokenmeter_ledger_conflicts_total"))
	require.Equal(t, 1.0, moved("tokenmeter_ledger_retries_total"))
	require.Equal(t, 2.0, moved("tokenmeter_ledger_pools"), "each replica holds the design pool")
	require.Eventually(t, func() bool {
		age := testkit.Scrape(t, addr).Value("tokenmeter_ledger_snapshot_age_seconds")
		return age > 0 && age < 60
	}, 5*time.Second, 20*time.Millisecond, "a snapshot was written")
}
