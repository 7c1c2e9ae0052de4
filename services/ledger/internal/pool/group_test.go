package pool

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// decide runs cmd through Pool.Decide at at, as the store does, and returns
// the events it folded.
func (h *harness) decide(at time.Time, cmd Command) ([]*v1.Event, error) {
	h.t.Helper()
	return h.p.Decide(at, cmd)
}

func (h *harness) groupCmd(at time.Time, f func(c GroupChange) (*v1.Event, error)) []*v1.Event {
	h.t.Helper()
	evs, err := h.decide(at, func(p *Pool) ([]*v1.Event, error) {
		ev, err := f(GroupChange{EventID: h.id(), At: at, Actor: &v1.Actor{Kind: "admin", Id: "k1"}})
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	require.NoError(h.t, err)
	return evs
}

// drafters makes group "drafters" opening products, with members.
func (h *harness) drafters(products []string, members ...string) {
	h.t.Helper()
	at := t0.Add(-time.Hour)
	h.groupCmd(at, func(c GroupChange) (*v1.Event, error) {
		c.Group = "drafters"
		return h.p.DecideCreateGroup(c, "Drafters")
	})
	h.groupCmd(at, func(c GroupChange) (*v1.Event, error) {
		c.Group = "drafters"
		return h.p.DecideGroupProducts(c, products)
	})
	if len(members) > 0 {
		h.groupCmd(at, func(c GroupChange) (*v1.Event, error) {
			c.Group = "drafters"
			return h.p.DecideGroupMembers(c, members, nil)
		})
	}
}

func (h *harness) members(at time.Time, added, removed []string) error {
	_, err := h.decide(at, func(p *Pool) ([]*v1.Event, error) {
		ev, err := p.DecideGroupMembers(GroupChange{EventID: h.id(), Group: "drafters", At: at}, added, removed)
		if err != nil {
			return nil, err
		}
		return []*v1.Event{ev}, nil
	})
	return err
}

func TestGroupMemberLaunchesItsProducts(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 1000, t0, t0.AddDate(1, 0, 0))
	h.drafters([]string{"ACAD", "FUSION"}, "gia", "hal")
	h.assign("hal", "REVIT")

	o := h.launch("gia", "ACAD", t0)
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, o.Decision, "a member is not assigned but may open the group's products")
	require.EqualValues(t, 7, o.Tokens, "charged like any launch")
	require.Equal(t, v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED, h.launch("gia", "REVIT", t0).DenyReason)
	require.EqualValues(t, 10, h.launch("hal", "REVIT", t0).Tokens, "a member's own assignment still counts")
	require.EqualValues(t, 2, h.launch("hal", "FUSION", t0).Tokens, "and the group adds to it")
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, h.launch("ivy", "ACAD", t0).DenyReason, "not a member")
	q := h.p.QuoteLaunch("gia", "FUSION", t0, h.cat)
	require.True(t, q.Affordable, q.Explanation)
	require.Equal(t, []string{"drafters"}, h.p.UserGroups("gia"))

	h.groupCmd(t0, func(c GroupChange) (*v1.Event, error) {
		c.Group = "drafters"
		return h.p.DecideGroupProducts(c, []string{"*"})
	})
	require.EqualValues(t, 10, h.launch("gia", "REVIT", t0).Tokens, `"*" opens every product`)
}

func TestRemovedMemberIsRefused(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 1000, t0, t0.AddDate(1, 0, 0))
	h.drafters([]string{"ACAD"}, "gia")
	require.EqualValues(t, 7, h.launch("gia", "ACAD", t0).Tokens)

	require.NoError(t, h.members(t0.Add(time.Hour), nil, []string{"gia"}))
	o := h.launch("gia", "ACAD", t0.Add(2*time.Hour))
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, o.DenyReason, "the open window covers no one who may not launch")
	require.ErrorIs(t, h.members(t0.Add(3*time.Hour), nil, []string{"gia"}), ErrNotFound, "removing a non-member")
	require.Empty(t, h.p.UserGroups("gia"))
}

func TestGroupBudgetCrossingAndRefusal(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 1000, t0, t0.AddDate(1, 0, 0))
	h.drafters([]string{"*"}, "gia", "hal")
	h.assign("ivy", "*")
	_, err := h.p.DecideSetBudget(h.id(), &v1.Budget{BudgetId: "b", Scope: v1.BudgetScope_BUDGET_SCOPE_USER_GROUP, Key: "nobody",
		LimitTokens: 1, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}, t0, nil)
	require.ErrorIs(t, err, ErrNotFound, "a budget of a group the team does not have")
	h.budget(&v1.Budget{BudgetId: "drafters-day", Scope: v1.BudgetScope_BUDGET_SCOPE_USER_GROUP, Key: "drafters",
		LimitTokens: 17, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY, Hard: true})

	launch := func(user, product string) (Outcome, []*v1.Event) {
		var o Outcome
		evs, err := h.decide(t0, func(p *Pool) ([]*v1.Event, error) {
			var ev *v1.Event
			o, ev = p.DecideLaunch(Launch{EventID: h.id(), User: user, Product: product, At: t0}, h.cat)
			return []*v1.Event{ev}, nil
		})
		require.NoError(t, err)
		return o, evs
	}
	_, evs := launch("gia", "REVIT")
	require.Len(t, evs, 1, "10 of 17: no crossing")
	_, evs = launch("ivy", "REVIT")
	require.Len(t, evs, 1, "a non-member's charge does not count")
	_, evs = launch("hal", "ACAD")
	require.Len(t, evs, 2, "10 + 7 reaches the limit: crossed")
	c := evs[1].GetBudgetCrossed()
	require.Equal(t, "drafters-day", c.GetBudgetId())
	require.EqualValues(t, 17, c.GetSpent())
	o, _ := launch("hal", "FUSION")
	require.Equal(t, v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, o.DenyReason, "the members' spending is capped together")
	require.Equal(t, v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, h.p.QuoteLaunch("gia", "FUSION", t0, h.cat).DenyReason)
	require.EqualValues(t, 2, h.launch("ivy", "FUSION", t0).Tokens)
	require.EqualValues(t, 2, h.launch("hal", "FUSION", t0.AddDate(0, 0, 1)).Tokens, "a new day, a new budget")

	require.NoError(t, h.members(t0.AddDate(0, 0, 1), nil, []string{"hal"}))
	require.EqualValues(t, 17, budgetSpent(h.p, "drafters-day", t0), "what members spent stays spent")
	require.EqualValues(t, 2, budgetSpent(h.p, "drafters-day", t0.AddDate(0, 0, 1)))
}

func budgetSpent(p *Pool, id string, at time.Time) int64 {
	for _, b := range p.Budgets(at) {
		if b.Budget.GetBudgetId() == id {
			return b.Spent
		}
	}
	return -1
}

func TestDeleteGroup(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 1000, t0, t0.AddDate(1, 0, 0))
	h.drafters([]string{"ACAD"}, "gia", "hal")
	h.budget(&v1.Budget{BudgetId: "drafters-day", Scope: v1.BudgetScope_BUDGET_SCOPE_USER_GROUP, Key: "drafters",
		LimitTokens: 70, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY, Hard: true})
	h.budget(&v1.Budget{BudgetId: "ann-day", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann",
		LimitTokens: 70, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY})

	evs, err := h.decide(t0, func(p *Pool) ([]*v1.Event, error) {
		return p.DecideDeleteGroup(GroupChange{EventID: "del-1", Group: "drafters", At: t0, Actor: &v1.Actor{Kind: "admin", Id: "k1"}})
	})
	require.NoError(t, err)
	require.Len(t, evs, 3)
	require.Equal(t, []string{"gia", "hal"}, evs[0].GetUserGroupMembersChanged().GetRemovedUserIds(), "members leave first")
	require.Equal(t, "del-1/members", evs[0].GetEventId())
	require.True(t, evs[1].GetBudgetSet().GetBudget().GetDeleted(), "then the group's budgets go")
	require.Equal(t, "drafters-day", evs[1].GetBudgetSet().GetBudget().GetBudgetId())
	require.Equal(t, "drafters", evs[2].GetUserGroupDeleted().GetGroupId())
	for _, ev := range evs {
		require.Equal(t, "admin", ev.GetActor().GetKind(), "every event carries the actor")
	}

	require.Empty(t, h.p.Groups())
	require.Len(t, h.p.Budgets(t0), 1, "another scope's budget stays")
	require.Equal(t, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, h.launch("gia", "ACAD", t0).DenyReason)
	_, err = h.p.DecideDeleteGroup(GroupChange{EventID: h.id(), Group: "drafters", At: t0})
	require.ErrorIs(t, err, ErrNotFound)

	h.drafters(nil)
	g, ok := h.p.GroupByID("drafters")
	require.True(t, ok)
	require.Empty(t, g.Members, "a group made again under the same id starts empty")
	require.Empty(t, g.Products)
}

func TestGroupBounds(t *testing.T) {
	h := newHarness(t)
	at := t0
	c := GroupChange{EventID: "e", Group: "g", At: at}
	fieldOf := func(err error) string {
		var fe *FieldError
		require.ErrorAs(t, err, &fe)
		return fe.Field
	}
	_, err := h.p.DecideCreateGroup(c, strings.Repeat("n", MaxGroupNameLen+1))
	require.Equal(t, "name", fieldOf(err))
	_, err = h.p.DecideCreateGroup(GroupChange{EventID: "e"}, "G")
	require.Equal(t, "group_id", fieldOf(err))
	_, err = h.p.DecideCreateGroup(GroupChange{EventID: "e", Group: "g", Reason: strings.Repeat("r", MaxReasonLen+1)}, "G")
	require.Equal(t, "reason", fieldOf(err))
	_, err = h.p.DecideRenameGroup(c, "G")
	require.ErrorIs(t, err, ErrNotFound)

	for i := range MaxGroupsPerTeam {
		h.groupCmd(at, func(c GroupChange) (*v1.Event, error) {
			c.Group = "g" + strings.Repeat("x", i)
			return h.p.DecideCreateGroup(c, "G")
		})
	}
	_, err = h.p.DecideCreateGroup(GroupChange{EventID: "e", Group: "one-more", At: at}, "G")
	require.Equal(t, "group_id", fieldOf(err), "at most %d groups", MaxGroupsPerTeam)
	_, err = h.p.DecideCreateGroup(GroupChange{EventID: "e", Group: "g", At: at}, "G")
	require.ErrorIs(t, err, ErrGroupExists)

	_, err = h.p.DecideGroupProducts(c, make([]string, MaxProductsPerUser+1))
	require.Equal(t, "product_codes", fieldOf(err))
	many := make([]string, MaxMembersPerGroup+1)
	for i := range many {
		many[i] = fmt.Sprintf("u%04d", i)
	}
	_, err = h.p.DecideGroupMembers(c, many, nil)
	require.Equal(t, "add_user_ids", fieldOf(err))
	_, err = h.p.DecideGroupMembers(c, nil, nil)
	require.Equal(t, "add_user_ids", fieldOf(err))
	_, err = h.p.DecideGroupMembers(c, []string{"a"}, []string{"a"})
	require.Equal(t, "remove_user_ids", fieldOf(err))

	h.groupCmd(at, func(c GroupChange) (*v1.Event, error) {
		c.Group = "g"
		return h.p.DecideGroupMembers(c, many[:MaxMembersPerGroup-1], nil)
	})
	_, err = h.p.DecideGroupMembers(c, many[MaxMembersPerGroup-1:], nil)
	require.Equal(t, "add_user_ids", fieldOf(err), "the group would pass %d members", MaxMembersPerGroup)
	_, err = h.p.DecideGroupMembers(c, append(many[MaxMembersPerGroup-1:], many[0]), nil)
	require.Equal(t, "add_user_ids", fieldOf(err), "two new members pass the bound; the one already in counts once")
	_, err = h.p.DecideGroupMembers(c, append(many[MaxMembersPerGroup-1:], many[0]), []string{many[1]})
	require.NoError(t, err, "two in, one out: %d", MaxMembersPerGroup)
	_, err = h.p.DecideGroupMembers(c, many[MaxMembersPerGroup-1:MaxMembersPerGroup], []string{many[0]})
	require.NoError(t, err, "one in, one out: still %d", MaxMembersPerGroup-1)
}

func TestSnapshotKeepsGroups(t *testing.T) {
	h := newHarness(t)
	h.drafters([]string{"ACAD", "REVIT"}, "gia", "hal")
	raw, err := h.p.MarshalSnapshot()
	require.NoError(t, err)
	require.Contains(t, string(raw), `"groups":[{"id":"drafters","name":"Drafters","products":["ACAD","REVIT"],"members":["gia","hal"]}]`)
	back, err := UnmarshalSnapshot(raw)
	require.NoError(t, err)
	require.Equal(t, h.p.Groups(), back.Groups())
	require.Equal(t, []string{"drafters"}, back.UserGroups("hal"), "who belongs where is rebuilt")
	again, err := back.MarshalSnapshot()
	require.NoError(t, err)
	require.Equal(t, string(raw), string(again))

	old := New("acme", "design")
	raw, err = old.MarshalSnapshot()
	require.NoError(t, err)
	require.NotContains(t, string(raw), "groups", "a pool without groups encodes as before them")
	back, err = UnmarshalSnapshot(raw)
	require.NoError(t, err)
	require.Empty(t, back.Groups())
}

func TestCarryGroups(t *testing.T) {
	h := newHarness(t)
	h.drafters([]string{"REVIT"}, "zed")
	source := []Group{
		{ID: "drafters", Name: "Other name", Products: []string{"ACAD"}, Members: []string{"gia", "zed"}},
		{ID: "render", Name: "Render farm", Products: []string{"*"}, Members: []string{"hal"}},
		{ID: "empty", Name: "Empty"},
	}
	evs, err := h.decide(t0, func(p *Pool) ([]*v1.Event, error) {
		return p.DecideCarryGroups("into_team_id", "merge-1", source, t0, nil)
	})
	require.NoError(t, err)
	require.Len(t, evs, 5, "set and members for each group with members, set alone for the empty one")
	require.Equal(t, "merge-1/group/drafters/members", evs[1].GetEventId())
	require.Equal(t, []Group{
		{ID: "drafters", Name: "Drafters", Products: []string{"ACAD", "REVIT"}, Members: []string{"gia", "zed"}},
		{ID: "empty", Name: "Empty"},
		{ID: "render", Name: "Render farm", Products: []string{"*"}, Members: []string{"hal"}},
	}, h.p.Groups(), "a group the team has keeps its name and gains products and members")
	again, err := h.p.DecideCarryGroups("into_team_id", "merge-1", source, t0, nil)
	require.NoError(t, err)
	require.Empty(t, again, "a retried merge carries nothing twice")

	many := make([]Group, MaxGroupsPerTeam-2)
	for i := range many {
		many[i] = Group{ID: fmt.Sprintf("g%03d", i), Name: "G"}
	}
	_, err = h.p.DecideCarryGroups("into_team_id", "merge-2", many, t0, nil)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "into_team_id", fe.Field, "3 + %d groups", len(many))
}

// PlanGroups names the groups a user would join, refuses a group the team
// lacks and groups on an unassign row, and changes nothing.
func TestPlanGroups(t *testing.T) {
	h := newHarness(t)
	h.drafters([]string{"ACAD"}, "ann")
	h.groupCmd(t0, func(c GroupChange) (*v1.Event, error) {
		c.Group = "checkers"
		return h.p.DecideCreateGroup(c, "Checkers")
	})
	join, err := h.p.PlanGroups("ann", []string{"drafters", "checkers", "checkers"}, false)
	require.NoError(t, err)
	require.Equal(t, []string{"checkers"}, join)
	join, err = h.p.PlanGroups("bob", []string{"drafters", "checkers"}, false)
	require.NoError(t, err)
	require.Equal(t, []string{"checkers", "drafters"}, join)
	join, err = h.p.PlanGroups("ann", nil, true)
	require.NoError(t, err)
	require.Empty(t, join)
	_, err = h.p.PlanGroups("ann", []string{"drafters"}, true)
	require.ErrorContains(t, err, "group_ids: an unassign row")
	_, err = h.p.PlanGroups("ann", []string{"drafters", strings.Repeat("x", 100)}, false)
	require.ErrorContains(t, err, `group_ids: the team has no group "xxxx`)
	require.Less(t, len(err.Error()), 100, "the refusal quotes a prefix")
	_, err = h.p.PlanGroups("ann", make([]string, MaxPlanGroups+1), false)
	require.ErrorContains(t, err, "at most 32 groups")
	require.False(t, h.p.groups["checkers"].members["ann"], "planning joins no one")
}
