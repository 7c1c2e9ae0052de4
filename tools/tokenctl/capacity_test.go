package tokenctl

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testCapacity: a capacity product with a term, its card's "ends in …,
// refreshes in …", two uses through the ledger, and `capacity usage`.
func testCapacity(t *testing.T, s *stack) {
	env := s.env(t)
	ends := time.Now().UTC().AddDate(0, 0, 60).Format(time.DateOnly)
	out := ok(t, env, "capacity", "set", "cap-a", "API-UNITS", "100", "--kind", "exhaustible", "--ends", ends)
	rows := tableRows(t, out)
	require.Equal(t, []string{"TEAM", "PRODUCT", "KIND", "TOTAL", "AVAILABLE", "IN_USE", "STATUS", "ENDS", "REFRESHES"}, rows[0])
	next := time.Now().UTC().AddDate(0, 1, 1-time.Now().UTC().Day())
	require.Equal(t, []string{"cap-a", "API-UNITS", "exhaustible", "100", "100", "0", "ok", ends, next.Format(time.DateOnly)}, rows[1])
	require.Contains(t, out, "API-UNITS of cap-a: ends in 60 days, refreshes in ")

	r := ctl(t, env, "capacity", "set", "cap-a", "API-UNITS", "100", "--kind", "exhaustible", "--ends", "soon")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "--ends")
	r = ctl(t, env, "capacity", "set", "cap-a", "API-UNITS", "100", "--kind", "exhaustible", "--ends", "2020-01-01")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "ends_at", "the ledger names the field")

	conn, err := grpcserver.Dial(s.Ledger.Addr(), devstack.AdminKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	svc := v1.NewLedgerServiceClient(conn)
	ctx := t.Context()
	for i, units := range []int64{30, 55} {
		_, err := svc.UseCapacity(ctx, &v1.UseCapacityRequest{EventId: fmt.Sprintf("cap-use-%d", i), TeamId: "cap-a", ProductCode: "API-UNITS",
			Units: units, UserId: []string{"ann", "bob"}[i]})
		require.NoError(t, err)
	}
	rows = tableRows(t, ok(t, env, "capacity", "list", "cap-a"))
	require.Equal(t, []string{"cap-a", "API-UNITS", "exhaustible", "100", "15", "85", "red"}, rows[1][:7], "15 % left is red")

	var usage v1.GetCapacityUsageResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &usage)
		return usage.GetUses() == 2
	}, "capacity", "usage", "cap-a", "API-UNITS", "--by", "month", "--range", "this-month", "-o", "json")
	require.Len(t, usage.GetBuckets(), 1)
	require.EqualValues(t, 85, usage.GetUnitsUsed())
	require.EqualValues(t, 2, usage.GetBuckets()[0].GetUsers())
	rows = tableRows(t, ok(t, env, "capacity", "usage", "cap-a", "API-UNITS", "--from", time.Now().UTC().AddDate(0, 0, -2).Format(time.DateOnly)))
	require.Equal(t, []string{"FROM", "USED", "RETURNED", "USES", "USERS"}, rows[0])
	require.Len(t, rows, 4, "three days, each listed")
	require.Equal(t, []string{time.Now().UTC().Format(time.DateOnly), "85", "0", "2", "2"}, rows[3])
	r = ctl(t, env, "capacity", "usage", "cap-a", "API-UNITS", "--by", "fortnight")
	require.NotEqual(t, 0, r.code)
}
