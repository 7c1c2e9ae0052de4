package ledger_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// AuthorizeBatch answers each launch as Authorize would: in order, each event
// id charged once however often it appears, a bad launch failing alone.
func TestAuthorizeBatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	svc := client(t, r.svc.Addr(), serviceKey)
	acme := auth.ActingFor(ctx, "acme")

	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	for _, team := range []string{"design", "civil"} {
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "p1", Tokens: 25})
		require.NoError(t, err)
		for u := range 3 {
			_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: team, UserId: fmt.Sprintf("u%d", u), ProductCodes: []string{"*"}})
			require.NoError(t, err)
		}
	}
	launch := func(id, team, user string) *v1.AuthorizeRequest {
		return &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-" + id, TeamId: team, UserId: user, ProductCode: "REVIT"}}
	}
	batch := &v1.AuthorizeBatchRequest{Launches: []*v1.AuthorizeRequest{
		launch("b-1", "design", "u0"),
		launch("b-2", "design", "u1"),
		launch("b-3", "design", "u2"), // the pool pays two of u0, u1, u2
		launch("b-1", "design", "u0"), // the same event again
		launch("b-4", "civil", "u0"),
		launch("b-5", "bad.team", "u0"),
		launch("b-4", "civil", "u1"), // b-4 reused for another user: one of the two is refused
	}}
	resp, err := svc.AuthorizeBatch(acme, batch)
	require.NoError(t, err)
	out := resp.GetOutcomes()
	require.Len(t, out, len(batch.GetLaunches()))

	authorized := 0
	for _, o := range out[:3] {
		require.Zero(t, o.GetErrorCode(), o.GetErrorMessage())
		if o.GetResult().GetDecision() == v1.Decision_DECISION_AUTHORIZED {
			authorized++
		} else {
			require.Equal(t, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, o.GetResult().GetDenyReason())
		}
	}
	require.Equal(t, 2, authorized, "25 tokens pay two launches at 10")
	require.Equal(t, out[0].GetResult().GetDecision(), out[3].GetResult().GetDecision(), "the same event gets the same answer")
	require.EqualValues(t, codes.InvalidArgument, out[5].GetErrorCode())
	require.Contains(t, out[5].GetErrorMessage(), "team_id")
	// Launches of one batch are concurrent: either use of b-4 may come first.
	won, lost := out[4], out[6]
	if won.GetErrorCode() != 0 {
		won, lost = lost, won
	}
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, won.GetResult().GetDecision())
	require.EqualValues(t, codes.AlreadyExists, lost.GetErrorCode())

	// A retry of the whole batch changes nothing and gets the same answers.
	again, err := svc.AuthorizeBatch(acme, batch)
	require.NoError(t, err)
	for i, o := range again.GetOutcomes() {
		require.Equal(t, out[i].GetErrorCode(), o.GetErrorCode(), "launch %d", i)
		require.Equal(t, out[i].GetResult().GetDecision(), o.GetResult().GetDecision(), "launch %d", i)
		require.Equal(t, out[i].GetResult().GetTokensCharged(), o.GetResult().GetTokensCharged(), "launch %d", i)
	}
	design, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	require.EqualValues(t, 5, design.GetBalance().GetAvailable())
	civil, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "civil"})
	require.NoError(t, err)
	require.EqualValues(t, 15, civil.GetBalance().GetAvailable())

	t.Run("another organisation's batch sees none of acme's pools", func(t *testing.T) {
		resp, err := svc.AuthorizeBatch(auth.ActingFor(ctx, "globex"), &v1.AuthorizeBatchRequest{Launches: []*v1.AuthorizeRequest{launch("b-1", "design", "u0")}})
		require.NoError(t, err)
		require.NotEqual(t, v1.Decision_DECISION_AUTHORIZED, resp.GetOutcomes()[0].GetResult().GetDecision())
	})
	t.Run("admin and launcher keys may not call it", func(t *testing.T) {
		_, err := admin.AuthorizeBatch(ctx, batch)
		require.Equal(t, codes.PermissionDenied, status.Code(err))
		_, err = client(t, r.svc.Addr(), launcherKey).AuthorizeBatch(ctx, batch)
		require.Equal(t, codes.PermissionDenied, status.Code(err))
	})
	t.Run("too many launches", func(t *testing.T) {
		big := &v1.AuthorizeBatchRequest{}
		for i := range 1001 {
			big.Launches = append(big.Launches, launch(fmt.Sprintf("x-%d", i), "design", "u0"))
		}
		_, err := svc.AuthorizeBatch(acme, big)
		require.Equal(t, codes.InvalidArgument, status.Code(err))
	})
}
