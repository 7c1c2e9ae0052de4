package ledger_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// ListTeams lists one organisation's pools with their balances, never
// another's (invariant 6), and refuses launcher keys.
func TestListTeams(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	acme := client(t, r.svc.Addr(), adminKey)
	globex := client(t, r.svc.Addr(), globexAdminKey)
	svc := client(t, r.svc.Addr(), serviceKey)

	// The catalog subject (ledger.acme._catalog) is written too and is no team.
	_, err := acme.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	for i, team := range []string{"zeta", "design", "civil"} {
		_, err := acme.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "p1", Tokens: int64(100 * (i + 1))})
		require.NoError(t, err)
	}
	for _, team := range []string{"design", "ops"} { // globex has a team of the same name
		_, err := globex.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "g1", Tokens: 7})
		require.NoError(t, err)
	}
	_, err = acme.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: "merge-zeta", FromTeamId: "zeta", IntoTeamId: "civil", Reason: "reorg"})
	require.NoError(t, err)

	teamIDs := func(resp *v1.ListTeamsResponse) []string {
		var ids []string
		for _, b := range resp.GetTeams() {
			ids = append(ids, b.GetTeamId())
		}
		return ids
	}

	t.Run("admin sees its organisation's teams sorted, with their balances", func(t *testing.T) {
		resp, err := acme.ListTeams(ctx, &v1.ListTeamsRequest{})
		require.NoError(t, err)
		require.Equal(t, []string{"civil", "design", "zeta"}, teamIDs(resp))
		for _, b := range resp.GetTeams() {
			one, err := acme.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: b.GetTeamId()})
			require.NoError(t, err)
			require.True(t, proto.Equal(one.GetBalance(), b), "team %s: ListTeams %v, GetBalance %v", b.GetTeamId(), b, one.GetBalance())
		}
		require.EqualValues(t, 400, resp.GetTeams()[0].GetAvailable(), "civil got zeta's tokens")
		require.False(t, resp.GetTeams()[0].GetSuspended())
		require.True(t, resp.GetTeams()[2].GetSuspended(), "zeta was merged")
	})

	t.Run("teams of two organisations are not mixed", func(t *testing.T) {
		resp, err := globex.ListTeams(ctx, &v1.ListTeamsRequest{})
		require.NoError(t, err)
		require.Equal(t, []string{"design", "ops"}, teamIDs(resp))
		require.EqualValues(t, 7, resp.GetTeams()[0].GetAvailable(), "globex's design, not acme's")
	})

	t.Run("a service acts for the organisation it names", func(t *testing.T) {
		reporting := client(t, r.svc.Addr(), reportingKey)
		b, err := reporting.GetBalance(auth.ActingFor(ctx, "globex"), &v1.GetBalanceRequest{TeamId: "design"})
		require.NoError(t, err)
		require.EqualValues(t, 7, b.GetBalance().GetAvailable(), "globex's design, not acme's")
		_, err = reporting.GetBalance(auth.ActingFor(ctx, "*"), &v1.GetBalanceRequest{TeamId: "design"})
		require.Equal(t, codes.InvalidArgument, status.Code(err), "a wildcard organisation would read every tenant")
	})

	t.Run("a service key makes only its own service's calls", func(t *testing.T) {
		_, err := svc.ListTeams(auth.ActingFor(ctx, "globex"), &v1.ListTeamsRequest{})
		require.Equal(t, codes.PermissionDenied, status.Code(err), "ingestion's key lists no teams")
		_, err = client(t, r.svc.Addr(), reportingKey).Authorize(auth.ActingFor(ctx, "acme"), &v1.AuthorizeRequest{})
		require.Equal(t, codes.PermissionDenied, status.Code(err), "reporting's key authorizes no launch")
		_, err = client(t, r.svc.Addr(), reportingKey).AddPack(auth.ActingFor(ctx, "acme"), &v1.AddPackRequest{})
		require.Equal(t, codes.PermissionDenied, status.Code(err), "reporting's key adds no pack")
	})

	t.Run("a launcher key is refused", func(t *testing.T) {
		launcher := client(t, r.svc.Addr(), launcherKey)
		_, err := launcher.ListTeams(ctx, &v1.ListTeamsRequest{})
		require.Equal(t, codes.PermissionDenied, status.Code(err))
	})
}
