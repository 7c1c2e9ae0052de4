package e2e

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

func code(err error) codes.Code { return status.Code(err) }

func badFields(t *testing.T, err error) []string {
	t.Helper()
	st, ok := status.FromError(err)
	require.True(t, ok)
	require.Equal(t, codes.InvalidArgument, st.Code(), st.Message())
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func TestIngestionRefusals(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	stack, _ := startStack(t)
	valid := &v1.LaunchRequest{EventId: "evt-00000001", TeamId: "design", UserId: "ann", ProductCode: "REVIT"}

	t.Run("no key", func(t *testing.T) {
		_, err := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), "")).Launch(ctx, valid)
		require.Equal(t, codes.Unauthenticated, code(err))
	})
	t.Run("unknown key", func(t *testing.T) {
		_, err := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), "not-a-real-key")).Launch(ctx, valid)
		require.Equal(t, codes.Unauthenticated, code(err))
	})
	t.Run("launcher key of another team", func(t *testing.T) {
		other := &v1.LaunchRequest{EventId: "evt-00000002", TeamId: "civil", UserId: "ann", ProductCode: "REVIT"}
		_, err := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.LauncherKey)).Launch(ctx, other)
		require.Equal(t, codes.PermissionDenied, code(err))
	})
	t.Run("admin key cannot launch", func(t *testing.T) {
		_, err := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.AdminKey)).Launch(ctx, valid)
		require.Equal(t, codes.PermissionDenied, code(err))
	})
	t.Run("launcher key cannot administer", func(t *testing.T) {
		_, err := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.LauncherKey)).AddPack(ctx,
			&v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "free", Tokens: 1000})
		require.Equal(t, codes.PermissionDenied, code(err))
	})
	t.Run("bad fields are named", func(t *testing.T) {
		attrs := map[string]string{}
		for i := 0; i < 11; i++ {
			attrs[string(rune('a'+i))] = "x"
		}
		_, err := v1.NewIngestionServiceClient(dial(t, stack.Ingestion.Addr(), devstack.LauncherKey)).Launch(ctx,
			&v1.LaunchRequest{TeamId: "design", UserId: "ann", ProductCode: "no spaces", Attributes: attrs})
		require.ElementsMatch(t, []string{"event_id", "product_code", "attributes"}, badFields(t, err))
	})
	t.Run("admin validation names the field", func(t *testing.T) {
		_, err := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.AdminKey)).AddPack(ctx,
			&v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p", Tokens: -5})
		require.Equal(t, []string{"tokens"}, badFields(t, err))
	})
	t.Run("other organisation sees nothing", func(t *testing.T) {
		admin := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.AdminKey))
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "demo-pack", Tokens: 100})
		require.NoError(t, err)
		// The service key acting for another organisation reads that organisation's
		// (empty) pool of the same team name, never demo's.
		svc := v1.NewLedgerServiceClient(dial(t, stack.Ledger.Addr(), devstack.ReportingKey))
		b, err := svc.GetBalance(actingFor(ctx, "other-org"), &v1.GetBalanceRequest{TeamId: "design"})
		require.NoError(t, err)
		require.Zero(t, b.GetBalance().GetPurchased())
		b, err = svc.GetBalance(actingFor(ctx, devstack.DemoOrg), &v1.GetBalanceRequest{TeamId: "design"})
		require.NoError(t, err)
		require.EqualValues(t, 100, b.GetBalance().GetPurchased())
	})
}
