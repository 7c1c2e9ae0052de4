package tokenctl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testDenialsAndSpend: packs in two currencies bought with tokenctl, two
// charges and three refusals through the ledger; `report denials` and
// `report spend` show them, walking the refusals page by page.
func testDenialsAndSpend(t *testing.T, s *stack) {
	env := s.env(t)
	// The EUR pack expires first, so it is spent first.
	ok(t, env, "packs", "add", "mon-a", "mon-eur", "10", "--price", "2.50", "--currency", "EUR",
		"--purchased", time.Now().AddDate(0, 0, -5).Format(time.DateOnly), "--expires", time.Now().AddDate(0, 3, 0).Format(time.DateOnly))
	ok(t, env, "packs", "add", "mon-a", "mon-usd", "100", "--price", "3", "--currency", "USD",
		"--purchased", time.Now().AddDate(0, 0, -5).Format(time.DateOnly))
	ok(t, env, "products", "set-rate", "MONEYCAD", "8", "--effective", time.Now().AddDate(0, 0, -5).Format(time.DateOnly))
	ok(t, env, "users", "assign", "mon-a", "ann", "--products", "MONEYCAD")
	conn, err := grpcserver.Dial(s.Ledger.Addr(), devstack.ServiceKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	svc := v1.NewLedgerServiceClient(conn)
	ctx := auth.ActingFor(t.Context(), devstack.DemoOrg)
	launch := func(id, user string, at time.Time) v1.Decision {
		resp, err := svc.Authorize(ctx, &v1.AuthorizeRequest{ReceivedAt: timestamppb.New(at), Launch: &v1.LaunchRequest{
			EventId: id, TeamId: "mon-a", UserId: user, ProductCode: "MONEYCAD", DeviceId: "pc"}})
		require.NoError(t, err)
		return resp.GetResult().GetDecision()
	}
	now := time.Now().UTC()
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch("money-launch-1", "ann", now.Add(-50*time.Hour)), "8 of 10 EUR tokens")
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch("money-launch-2", "ann", now.Add(-25*time.Hour)), "2 EUR tokens, 6 USD ones")
	require.Equal(t, v1.Decision_DECISION_DENIED, launch("money-launch-3", "bob", now.Add(-3*time.Hour)))
	require.Equal(t, v1.Decision_DECISION_DENIED, launch("money-launch-4", "cy", now.Add(-2*time.Hour)))
	require.Equal(t, v1.Decision_DECISION_DENIED, launch("money-launch-5", "dee", now.Add(-time.Hour)))

	scope := []string{"--team", "mon-a"}
	var spend v1.GetSpendResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &spend)
		return len(spend.GetRows()) == 2
	}, append([]string{"report", "spend", "-o", "json"}, scope...)...)
	protoOut(t, ok(t, env, append([]string{"report", "denials", "-o", "json"}, scope...)...), &v1.GetDenialsResponse{})
	out := ok(t, env, append([]string{"report", "spend", "--by", "user"}, scope...)...)
	require.Equal(t, [][]string{{"KEY", "CURRENCY", "AMOUNT", "TOKENS", "CHARGES"},
		{"ann", "EUR", "25.00", "10", "2"}, {"ann", "USD", "18.00", "6", "1"}}, tableRows(t, out))
	require.Contains(t, out, "\nleft in the packs now: 282.00 USD (94 tokens)\n")
	paged := ctlWith(t, Options{pageSize: 1}, env, append([]string{"report", "spend", "--by", "user"}, scope...)...)
	require.Equal(t, 0, paged.code, paged.stderr)
	require.Equal(t, out, paged.out, "page by page, the same report")

	var denials v1.GetDenialsResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &denials)
		return len(denials.GetDenials()) == 3
	}, append([]string{"report", "denials", "--list", "-o", "json"}, scope...)...)
	list := csvRows(t, ok(t, env, append([]string{"report", "denials", "--list", "-o", "csv", "--page-size", "1"}, scope...)...))
	require.Equal(t, []string{"at", "team", "user", "product", "version", "device", "reason", "tokens_required", "renewal"}, list[0])
	require.Equal(t, []string{"dee", "cy", "bob"}, []string{list[1][2], list[2][2], list[3][2]}, "every page, newest first")
	require.Equal(t, "user-not-assigned", list[1][6])
	groups := csvRows(t, ok(t, env, append([]string{"report", "denials", "--by", "reason", "-o", "csv"}, scope...)...))
	require.Equal(t, [][]string{{"key", "denials", "users", "tokens_required", "reasons"},
		{"user_not_assigned", "3", "3", "24", "user-not-assigned 3"}}, groups)
	bad := ctl(t, env, "report", "denials", "--by", "week")
	require.NotZero(t, bad.code)
	require.Contains(t, bad.stderr, `invalid --by "week": want one of day, team, user, product, reason`)
}
