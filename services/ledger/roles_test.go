package ledger_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// A viewer reads and changes nothing; a team admin changes its own team's
// packs and users and nothing of another team's.
func TestViewerAndTeamAdmin(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	viewer, team := client(t, r.svc.Addr(), viewerKey), client(t, r.svc.Addr(), teamAdminKey)

	_, err := team.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p1", Tokens: 50})
	require.NoError(t, err, "a team admin adds a pack to its team")
	_, err = team.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "civil", PackId: "p1", Tokens: 50})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "nor to another team")
	_, err = team.AdjustBalance(ctx, &v1.AdjustBalanceRequest{EventId: uuid.NewString(), TeamId: "design",
		Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT, Tokens: 10, Reason: "r", CounterpartyTeamId: "civil"})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "nor moves tokens to another team")
	_, err = team.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: "design", UserId: "ann"})
	require.NotEqual(t, codes.PermissionDenied, status.Code(err), "assigns its team's users: %v", err)
	_, err = team.ListTeams(ctx, &v1.ListTeamsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "lists no other team")
	_, err = team.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: 1})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "sets no organisation-wide rate")

	b, err := viewer.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	require.EqualValues(t, 50, b.GetBalance().GetPurchased())
	_, err = viewer.ListTeams(ctx, &v1.ListTeamsRequest{})
	require.NoError(t, err)
	_, err = viewer.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p2", Tokens: 50})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a viewer changes nothing")
}
