package ledger_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// User groups through the gRPC contract, on embedded NATS: design's team
// admin makes a group and gives it a product, its members launch it without
// an assignment of their own, a group budget caps them together, a removed
// member is refused, a retry changes nothing, every change is an event with
// its actor, a restarted replica reads the groups back from the log, and a
// deleted group takes its members and budgets with it.
func TestUserGroupsThroughGRPC(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin, svc := client(t, r.svc.Addr(), adminKey), client(t, r.svc.Addr(), serviceKey)
	design := client(t, r.svc.Addr(), teamAdminKey)
	acme := auth.ActingFor(ctx, "acme")
	for _, req := range []*v1.SetProductRateRequest{{EventId: "rate-acad-0001", ProductCode: "ACAD", DailyRate: 7}, {EventId: "rate-revit-0001", ProductCode: "REVIT", DailyRate: 10}} {
		_, err := admin.SetProductRate(ctx, req)
		require.NoError(t, err)
	}
	_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-design-0001", TeamId: "design", PackId: "p1", Tokens: 100})
	require.NoError(t, err)
	launch := func(id, user, product string) *v1.LaunchResponse {
		t.Helper()
		resp, err := svc.Authorize(acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: user, ProductCode: product}})
		require.NoError(t, err)
		return resp.GetResult()
	}

	create := &v1.CreateUserGroupRequest{EventId: "group-drafters-0001", TeamId: "design", GroupId: "drafters", Name: "Drafters", Reason: "CAD office"}
	for range 2 {
		resp, err := design.CreateUserGroup(ctx, create)
		require.NoError(t, err, "design's team admin may change its groups")
		require.Equal(t, "Drafters", resp.GetGroup().GetName())
	}
	require.Len(t, ledgerEvents(t, natsURL, func(ev *v1.Event) bool { return ev.GetEventId() == "group-drafters-0001" }), 1, "a retried create appends nothing")
	_, err = design.CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: "group-drafters-0002", TeamId: "design", GroupId: "drafters", Name: "Again"})
	require.Equal(t, codes.AlreadyExists, status.Code(err))
	_, err = design.SetUserGroupProducts(ctx, &v1.SetUserGroupProductsRequest{EventId: "group-products-0001", TeamId: "design", GroupId: "drafters", ProductCodes: []string{"ACAD"}})
	require.NoError(t, err)
	members, err := design.ChangeUserGroupMembers(ctx, &v1.ChangeUserGroupMembersRequest{EventId: "group-members-0001", TeamId: "design", GroupId: "drafters",
		AddUserIds: []string{"gia", "hal"}})
	require.NoError(t, err)
	require.Len(t, members.GetGroup().GetMemberIds(), 2)
	require.NotContains(t, members.GetGroup().GetMemberIds(), "gia", "acme shows pseudonyms until its owner says otherwise")

	require.EqualValues(t, 7, launch("launch-gia-0001", "gia", "ACAD").GetTokensCharged(), "a member launches the group's product")
	require.Equal(t, v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED, launch("launch-gia-0002", "gia", "REVIT").GetDenyReason())
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, launch("launch-ivy-0001", "ivy", "ACAD").GetDenyReason())

	_, err = design.SetBudget(ctx, &v1.SetBudgetRequest{EventId: "budget-drafters-0001", TeamId: "design", Budget: &v1.Budget{BudgetId: "drafters-day",
		Scope: v1.BudgetScope_BUDGET_SCOPE_USER_GROUP, Key: "drafters", LimitTokens: 17, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY, Hard: true}})
	require.NoError(t, err)
	_, err = design.SetBudget(ctx, &v1.SetBudgetRequest{EventId: "budget-nobody-0001", TeamId: "design", Budget: &v1.Budget{BudgetId: "nobody",
		Scope: v1.BudgetScope_BUDGET_SCOPE_USER_GROUP, Key: "nobody", LimitTokens: 14, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}})
	require.Equal(t, codes.NotFound, status.Code(err), "a budget of a group the team does not have")
	require.EqualValues(t, 7, launch("launch-hal-0001", "hal", "ACAD").GetTokensCharged())
	_, err = design.SetUserGroupProducts(ctx, &v1.SetUserGroupProductsRequest{EventId: "group-products-0002", TeamId: "design", GroupId: "drafters", ProductCodes: []string{"*"}})
	require.NoError(t, err)
	require.EqualValues(t, 10, launch("launch-gia-0003", "gia", "REVIT").GetTokensCharged(), "7 + 10 reaches the limit of 17")
	budgets, err := admin.ListBudgets(ctx, &v1.ListBudgetsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Equal(t, []int64{17}, budgets.GetSpent(), "both members' charges count")
	crossed := ledgerEvents(t, natsURL, func(ev *v1.Event) bool { return ev.GetBudgetCrossed().GetBudgetId() == "drafters-day" })
	require.Len(t, crossed, 1, "the crossing is recorded")
	require.EqualValues(t, 17, crossed[0].GetBudgetCrossed().GetSpent())
	denied := launch("launch-hal-0003", "hal", "REVIT")
	require.Equal(t, v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, denied.GetDenyReason(), "the group's hard budget caps them together")

	_, err = design.ChangeUserGroupMembers(ctx, &v1.ChangeUserGroupMembersRequest{EventId: "group-members-0002", TeamId: "design", GroupId: "drafters",
		RemoveUserIds: []string{"hal"}})
	require.NoError(t, err)
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, launch("launch-hal-0002", "hal", "ACAD").GetDenyReason(), "a removed member, even with a window open")

	r.stop()
	groupsReadBackAndDeleted(t, acme, startReplica(t, natsURL, "solo-again"))
}

// groupsReadBackAndDeleted: a restarted replica r reads design's group back
// from the log, its history names the actor, and deleting it takes its
// members and budget.
func groupsReadBackAndDeleted(t *testing.T, acme context.Context, r *replica) {
	ctx := t.Context()
	admin, viewer := client(t, r.svc.Addr(), adminKey), client(t, r.svc.Addr(), viewerKey)
	_, err := client(t, r.svc.Addr(), ownerKey).SetPersonalData(ctx, &v1.SetPersonalDataRequest{Show: true, EventId: "personal-data-0001"})
	require.NoError(t, err)
	list, err := viewer.ListUserGroups(ctx, &v1.ListUserGroupsRequest{TeamId: "design"})
	require.NoError(t, err, "a viewer reads groups")
	require.Len(t, list.GetGroups(), 1, "read back from the log")
	g := list.GetGroups()[0]
	require.Equal(t, []string{"gia"}, g.GetMemberIds())
	require.Equal(t, []string{"*"}, g.GetProductCodes())

	history, err := admin.ListTransactions(ctx, &v1.ListTransactionsRequest{TeamId: "design", Types: []string{"user_group_set", "user_group_members_changed"}})
	require.NoError(t, err)
	require.Len(t, history.GetTransactions(), 5)
	for _, tx := range history.GetTransactions() {
		require.True(t, strings.HasPrefix(tx.GetActor(), "team-admin:"), "recorded with its actor: %q", tx.GetActor())
	}

	_, err = admin.DeleteUserGroup(ctx, &v1.DeleteUserGroupRequest{EventId: "group-delete-0001", TeamId: "design", GroupId: "drafters", Reason: "reorganised"})
	require.NoError(t, err)
	list, err = viewer.ListUserGroups(ctx, &v1.ListUserGroupsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Empty(t, list.GetGroups())
	budgets, err := admin.ListBudgets(ctx, &v1.ListBudgetsRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Empty(t, budgets.GetBudgets(), "the group's budget went with it")
	resp, err := client(t, r.svc.Addr(), serviceKey).Authorize(acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-gia-0004", TeamId: "design", UserId: "gia", ProductCode: "ACAD"}})
	require.NoError(t, err)
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, resp.GetResult().GetDenyReason())
	_, err = admin.DeleteUserGroup(ctx, &v1.DeleteUserGroupRequest{EventId: "group-delete-0002", TeamId: "design", GroupId: "drafters"})
	require.Equal(t, codes.NotFound, status.Code(err))
}

// Who may change and read groups: admins and design's team admin for
// design; a viewer only reads; another team's groups are not the team
// admin's; services may do neither.
func TestUserGroupPolicy(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	create := func(key, team, id string) error {
		_, err := client(t, r.svc.Addr(), key).CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: id, TeamId: team, GroupId: "g1", Name: "G"})
		return err
	}
	require.NoError(t, create(adminKey, "civil", "group-civil-0001"))
	require.Equal(t, codes.PermissionDenied, status.Code(create(teamAdminKey, "civil", "group-civil-0002")), "not the team admin's team")
	require.Equal(t, codes.PermissionDenied, status.Code(create(viewerKey, "design", "group-design-0001")), "a viewer changes nothing")
	require.Equal(t, codes.PermissionDenied, status.Code(create(serviceKey, "design", "group-design-0002")))
	_, err := client(t, r.svc.Addr(), teamAdminKey).ListUserGroups(ctx, &v1.ListUserGroupsRequest{TeamId: "civil"})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	list, err := client(t, r.svc.Addr(), viewerKey).ListUserGroups(ctx, &v1.ListUserGroupsRequest{TeamId: "civil"})
	require.NoError(t, err)
	require.Len(t, list.GetGroups(), 1)
}

// ledgerEvents reads acme/design's pool events that keep says to keep.
func ledgerEvents(t *testing.T, natsURL string, keep func(*v1.Event) bool) []*v1.Event {
	t.Helper()
	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, "ledger")...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var out []*v1.Event
	_, err = eventlog.ReadSubject(t.Context(), js, eventlog.LedgerStream, "ledger.acme.design", 0, func(st eventlog.Stored) error {
		if keep(st.Event) {
			out = append(out, st.Event)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestUserGroupInputsAreBounded(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	_, err := admin.CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: "group-g1-0001", TeamId: "design", GroupId: "g1", Name: "G"})
	require.NoError(t, err)
	many := make([]string, 1001)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i%50) + string(rune('a'+i/50))
	}
	for _, c := range []struct {
		field string
		call  func() error
	}{
		{"name", func() error {
			_, err := admin.CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: "group-g2-0001", TeamId: "design", GroupId: "g2", Name: strings.Repeat("n", 129)})
			return err
		}},
		{"name", func() error {
			_, err := admin.RenameUserGroup(ctx, &v1.RenameUserGroupRequest{EventId: "group-g1-0002", TeamId: "design", GroupId: "g1", Name: "bad\x00name"})
			return err
		}},
		{"group_id", func() error {
			_, err := admin.CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: "group-g2-0002", TeamId: "design", GroupId: "no spaces", Name: "G"})
			return err
		}},
		{"event_id", func() error {
			_, err := admin.DeleteUserGroup(ctx, &v1.DeleteUserGroupRequest{TeamId: "design", GroupId: "g1"})
			return err
		}},
		{"reason", func() error {
			_, err := admin.DeleteUserGroup(ctx, &v1.DeleteUserGroupRequest{EventId: "group-g1-0003", TeamId: "design", GroupId: "g1", Reason: strings.Repeat("r", 513)})
			return err
		}},
		{"product_codes", func() error {
			_, err := admin.SetUserGroupProducts(ctx, &v1.SetUserGroupProductsRequest{EventId: "group-g1-0004", TeamId: "design", GroupId: "g1", ProductCodes: []string{"not a code"}})
			return err
		}},
		{"add_user_ids", func() error {
			_, err := admin.ChangeUserGroupMembers(ctx, &v1.ChangeUserGroupMembersRequest{EventId: "group-g1-0005", TeamId: "design", GroupId: "g1", AddUserIds: many})
			return err
		}},
		{"remove_user_ids", func() error {
			_, err := admin.ChangeUserGroupMembers(ctx, &v1.ChangeUserGroupMembersRequest{EventId: "group-g1-0006", TeamId: "design", GroupId: "g1", RemoveUserIds: []string{"a b"}})
			return err
		}},
	} {
		require.Equal(t, []string{c.field}, badFields(t, c.call()), c.field)
	}
}

// A merge carries the source's user groups into the target: a member of a
// design group launches its product in civil after the merge.
func TestMergeCarriesUserGroups(t *testing.T) {
	f := newLedgerFixture(t)
	ctx := t.Context()
	_, err := f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-civil-0001", TeamId: "civil", PackId: "c1", Tokens: 50})
	require.NoError(t, err)
	_, err = f.admin.CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: "group-render-0001", TeamId: "design", GroupId: "render", Name: "Render farm"})
	require.NoError(t, err)
	_, err = f.admin.SetUserGroupProducts(ctx, &v1.SetUserGroupProductsRequest{EventId: "group-render-0002", TeamId: "design", GroupId: "render", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)
	_, err = f.admin.ChangeUserGroupMembers(ctx, &v1.ChangeUserGroupMembersRequest{EventId: "group-render-0003", TeamId: "design", GroupId: "render", AddUserIds: []string{"gia"}})
	require.NoError(t, err)
	for range 2 {
		_, err = f.admin.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: "merge-design-0001", FromTeamId: "design", IntoTeamId: "civil"})
		require.NoError(t, err, "a retry completes nothing twice")
	}
	list, err := f.admin.ListUserGroups(ctx, &v1.ListUserGroupsRequest{TeamId: "civil"})
	require.NoError(t, err)
	require.Len(t, list.GetGroups(), 1)
	require.Equal(t, "Render farm", list.GetGroups()[0].GetName())
	require.Len(t, list.GetGroups()[0].GetMemberIds(), 1)
	resp, err := f.svc.Authorize(f.acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-gia-civil-1", TeamId: "civil", UserId: "gia", ProductCode: "REVIT"}})
	require.NoError(t, err)
	require.EqualValues(t, 10, resp.GetResult().GetTokensCharged(), "the member launches in the merged team")
}
