package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/launcher"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
	"github.com/tokenmeter/tokenmeter/tools/simulator"
)

// A working week of simulated launchers on the servers' fake clock: every
// token a launcher was told it was charged is in the ledger, no more.
func TestSimulatedWeek(t *testing.T) {
	ctx := t.Context()
	led, ing, clk := ledgerAndIngestion(t)
	cfg := simulator.Config{Users: 30, Teams: 3, Products: 3, Days: 5, Start: clk.Now(), Seed: 3, MaxEvents: 3000}
	plan, err := simulator.Plan(cfg)
	require.NoError(t, err)
	admin := v1.NewLedgerServiceClient(dial(t, led.addr, devstack.AdminKey))
	require.NoError(t, simulator.Setup(ctx, admin, cfg, 10_000))
	keys := simulator.NewKeys(v1.NewIngestionServiceClient(dial(t, ing.Addr(), devstack.AdminKey)), ing.Addr())
	defer keys.Revoke(context.WithoutCancel(ctx))
	player := simulator.Player{
		Client:   func(team string) (*launcher.Client, error) { return keys.Client(ctx, team) },
		SetClock: func(at time.Time) { clk.Set(at) },
	}
	st, err := player.Play(ctx, plan)
	require.NoError(t, err)
	require.Positive(t, st.Authorized)
	require.Zero(t, st.Denied, "every team can pay")
	var used int64
	for i := range cfg.Teams {
		bal, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: simulator.TeamID(i)})
		require.NoError(t, err)
		used += bal.GetBalance().GetUsed()
	}
	require.Equal(t, st.Tokens, used, "charges told to launchers = ledger's used")
	t.Logf("%d events: %+v", len(plan), st)
}
