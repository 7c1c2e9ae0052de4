package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

// A capacity product's term end and next refresh travel through the gRPC
// contract, and on the ledger's clock the capacity expires at its end.
func TestCapacityTermThroughGRPC(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	clk := &fakeClock{now: time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)}
	r := startReplica(t, natsURL, "capacity-term", func(cfg *ledger.Config) { cfg.Now = clk.Now })
	admin := client(t, r.svc.Addr(), adminKey)
	ends := clk.Now().Add(30 * 24 * time.Hour)

	_, err := admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: uuid.NewString(), TeamId: "civil", ProductCode: "API",
		Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Units: 100, EndsAt: timestamppb.New(clk.Now().Add(-time.Hour))})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "ends_at")

	set, err := admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: uuid.NewString(), TeamId: "civil", ProductCode: "API",
		Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Units: 100, EndsAt: timestamppb.New(ends)})
	require.NoError(t, err)
	c := set.GetCapacity()
	require.Equal(t, ends, c.GetEndsAt().AsTime(), "ends in 30 days")
	require.Equal(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), c.GetRefreshesAt().AsTime(), "refreshes in 13 days")
	require.False(t, c.GetExpired())

	clk.Advance(30 * 24 * time.Hour)
	_, err = admin.UseCapacity(ctx, &v1.UseCapacityRequest{EventId: "api-0001", TeamId: "civil", ProductCode: "API", Units: 1, UserId: "ann"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "expired at its end")
	b, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "civil"})
	require.NoError(t, err)
	require.Len(t, b.GetBalance().GetCapacities(), 1)
	c = b.GetBalance().GetCapacities()[0]
	require.True(t, c.GetExpired())
	require.True(t, c.GetStatusRed())
	require.Zero(t, c.GetAvailable())
	require.Nil(t, c.GetRefreshesAt(), "no refresh once expired")
}

// An owner or admin (or a service) may record a use when it happened (the
// demo's history); a launcher may not, and never in the future or more than
// 400 days back.
func TestCapacityUseReceivedAt(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	clk := &fakeClock{now: time.Date(2026, 3, 19, 9, 0, 0, 0, time.UTC)}
	r := startReplica(t, natsURL, "capacity-at", func(cfg *ledger.Config) { cfg.Now = clk.Now })
	admin := client(t, r.svc.Addr(), adminKey)
	launcher := client(t, r.svc.Addr(), launcherKey)
	_, err := admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: uuid.NewString(), TeamId: "civil", ProductCode: "API",
		Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Units: 100})
	require.NoError(t, err)
	use := func(c v1.LedgerServiceClient, ctx context.Context, id string, at time.Time) error {
		_, err := c.UseCapacity(ctx, &v1.UseCapacityRequest{EventId: id, TeamId: "civil", ProductCode: "API", Units: 40, UserId: "ann",
			ReceivedAt: timestamppb.New(at)})
		return err
	}
	require.NoError(t, use(admin, ctx, "api-0001", clk.Now().AddDate(0, -1, 0)), "last month's allowance")
	b, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "civil"})
	require.NoError(t, err)
	require.EqualValues(t, 100, b.GetBalance().GetCapacities()[0].GetAvailable(), "this month's allowance is untouched")
	for _, bad := range []struct {
		c   v1.LedgerServiceClient
		ctx context.Context
		at  time.Time
	}{
		{admin, ctx, clk.Now().Add(time.Minute)},
		{admin, ctx, clk.Now().Add(-401 * 24 * time.Hour)},
	} {
		err := use(bad.c, bad.ctx, uuid.NewString(), bad.at)
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%s", bad.at)
		require.Contains(t, status.Convert(err).Message(), "received_at")
	}
	_, err = admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: uuid.NewString(), TeamId: "design", ProductCode: "API",
		Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Units: 100})
	require.NoError(t, err)
	_, err = launcher.UseCapacity(ctx, &v1.UseCapacityRequest{EventId: uuid.NewString(), TeamId: "design", ProductCode: "API", Units: 1,
		UserId: "ann", ReceivedAt: timestamppb.New(clk.Now().Add(-time.Hour))})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "a launcher may not backdate")
	require.Contains(t, status.Convert(err).Message(), "received_at")
}
