package tokenctl

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// testGroups: a group made, given a product and members through tokenctl;
// a member without an assignment of their own launches it;
// a group budget is set with --scope user-group; the directory shows the
// member's group; removal, rename and deletion; errors name the field.
func testGroups(t *testing.T, s *stack) {
	env := s.env(t)
	ok(t, env, "packs", "add", "grp-a", "grp-a-pack", "500")
	ok(t, env, "products", "set-rate", "GRPCAD", "7", "--effective", time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly))
	out := ok(t, env, "groups", "create", "grp-a", "drafters", "--name", "Drafting office", "--event-id", "grp-create-0001", "-o", "csv")
	require.Equal(t, []string{"grp-a", "drafters", "Drafting office", "", ""}, csvRows(t, out)[1])
	ok(t, env, "groups", "create", "grp-a", "drafters", "--name", "Drafting office", "--event-id", "grp-create-0001") // a retry
	r := ctl(t, env, "groups", "create", "grp-a", "drafters")
	require.Equal(t, 1, r.code, "a second group of the same id")
	require.Contains(t, r.stderr, "user group already exists")

	ok(t, env, "groups", "products", "grp-a", "drafters", "--products", "GRPCAD")
	out = ok(t, env, "groups", "add", "grp-a", "drafters", "gia", "hal", "-o", "csv")
	require.Equal(t, []string{"grp-a", "drafters", "Drafting office", "GRPCAD", "gia,hal"}, csvRows(t, out)[1])
	conn, err := grpcserver.Dial(s.Ledger.Addr(), devstack.ServiceKey)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	launch := func(id, user string) *v1.LaunchResponse {
		resp, err := v1.NewLedgerServiceClient(conn).Authorize(auth.ActingFor(t.Context(), devstack.DemoOrg), &v1.AuthorizeRequest{
			Launch: &v1.LaunchRequest{EventId: id, TeamId: "grp-a", UserId: user, ProductCode: "GRPCAD", DeviceId: "pc"}})
		require.NoError(t, err)
		return resp.GetResult()
	}
	require.EqualValues(t, 7, launch("grp-launch-0001", "gia").GetTokensCharged(), "a member launches the group's product")
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, launch("grp-launch-0002", "ivy").GetDenyReason())
	ok(t, env, "budgets", "set", "grp-a", "drafters-month", "--scope", "user-group", "--key", "drafters", "--limit", "100", "--period", "month", "--hard")
	require.Contains(t, ok(t, env, "budgets", "list", "grp-a"), "drafters-month")

	var dir v1.ListUsersResponse
	poll(t, env, func(out string) bool {
		protoOut(t, out, &dir)
		return len(dir.GetUsers()) == 2
	}, "users", "list", "--team", "grp-a", "-o", "json")
	require.Equal(t, "gia", dir.GetUsers()[0].GetUserId())
	require.Equal(t, "drafters", dir.GetUsers()[0].GetGroups()[0].GetGroupId())
	require.Equal(t, "assigned", dir.GetUsers()[0].GetStatus())

	ok(t, env, "groups", "remove", "grp-a", "drafters", "hal")
	r = ctl(t, env, "groups", "remove", "grp-a", "drafters", "hal")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "not a member")
	out = ok(t, env, "groups", "rename", "grp-a", "drafters", "CAD office", "-o", "csv")
	require.Equal(t, []string{"grp-a", "drafters", "CAD office", "GRPCAD", "gia"}, csvRows(t, out)[1])
	r = ctl(t, env, "groups", "rename", "grp-a", "drafters", string(make([]byte, 129)))
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "name")
	r = ctl(t, env, "groups", "products", "grp-a", "drafters")
	require.Equal(t, 1, r.code, "products or --none must be said")

	ok(t, env, "groups", "delete", "grp-a", "drafters", "--reason", "reorganised")
	var left v1.ListUserGroupsResponse
	protoOut(t, ok(t, env, "groups", "list", "grp-a", "-o", "json"), &left)
	require.Empty(t, left.GetGroups())
	require.NotContains(t, ok(t, env, "budgets", "list", "grp-a"), "drafters-month", "its budget went with it")
}
