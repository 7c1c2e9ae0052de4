package e2e

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// An owner makes access keys through ingestion; within a second every
// service lets each key do what its role may and nothing else, and a
// revocation locks it out of every service within a second.
func TestAccessKeysAcrossServices(t *testing.T) {
	t.Parallel()
	stack, _ := startStack(t)
	ctx := t.Context()
	owner := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.OwnerKey))
	admin := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.AdminKey))
	_, err := admin.CreateAccessKey(ctx, &v1.CreateAccessKeyRequest{Role: "owner"})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "an admin grants no role")
	_, err = owner.CreateAccessKey(ctx, &v1.CreateAccessKeyRequest{Role: "team-admin"})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "a team admin needs its team")

	viewer, err := owner.CreateAccessKey(ctx, &v1.CreateAccessKeyRequest{Role: "viewer", Label: "auditor"})
	require.NoError(t, err)
	team, err := owner.CreateAccessKey(ctx, &v1.CreateAccessKeyRequest{Role: "team-admin", RoleTeamId: "design"})
	require.NoError(t, err)
	require.NotEqual(t, viewer.GetKey().GetKeyId(), team.GetKey().GetKeyId())

	ledger := func(secret string) v1.LedgerServiceClient {
		return v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), secret))
	}
	reporting := v1.NewReportingServiceClient(dial(t, stack.Reporting.Addr(), viewer.GetSecret()))
	alerting := v1.NewAlertingServiceClient(dial(t, stack.Alerting.Addr(), viewer.GetSecret()))
	// Unknown keys are throttled per peer (auth.Throttle): poll gently.
	reads := func() []error {
		_, l := ledger(viewer.GetSecret()).GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
		_, r := reporting.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: []string{"design"}})
		_, a := alerting.ListAlerts(ctx, &v1.ListAlertsRequest{})
		return []error{l, r, a}
	}
	require.Eventually(t, func() bool {
		for _, err := range reads() {
			if status.Code(err) == codes.Unauthenticated {
				return false
			}
		}
		return true
	}, 2*time.Second, 150*time.Millisecond, "every service learns the viewer's key")
	for i, err := range reads() {
		require.NoError(t, err, "viewer read %d", i)
	}
	_, err = ledger(viewer.GetSecret()).AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "v", Tokens: 1})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a viewer changes nothing")
	_, err = alerting.SetRules(ctx, &v1.SetRulesRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a viewer sets no rules")

	_, err = ledger(team.GetSecret()).AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "t", Tokens: 5})
	require.NoError(t, err, "a team admin adds packs to its team")
	_, err = ledger(team.GetSecret()).AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "civil", PackId: "t", Tokens: 5})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "and to no other")
	me, err := v1.NewReportingServiceClient(dial(t, stack.Reporting.Addr(), team.GetSecret())).WhoAmI(ctx, &v1.WhoAmIRequest{})
	require.NoError(t, err)
	require.Equal(t, []string{devstack.DemoOrg, "team-admin", "design", team.GetKey().GetKeyId()},
		[]string{me.GetOrgId(), me.GetRole(), me.GetRoleTeamId(), me.GetKeyId()})

	listed, err := owner.ListAccessKeys(ctx, &v1.ListAccessKeysRequest{})
	require.NoError(t, err)
	require.Len(t, listed.GetKeys(), 2)
	_, err = owner.RevokeAccessKey(ctx, &v1.RevokeAccessKeyRequest{KeyId: viewer.GetKey().GetKeyId()})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, err := range reads() {
			if status.Code(err) != codes.Unauthenticated {
				return false
			}
		}
		return true
	}, time.Second, 100*time.Millisecond, "a revoked key is refused by every service within a second")
}
