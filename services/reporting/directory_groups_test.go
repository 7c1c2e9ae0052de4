package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The user directory shows each user's user groups now, projected into
// ClickHouse from the group events: a member with no assignment of their
// own is listed and assigned (they may launch the group's products), a
// removed member and the members of a deleted group are not in it, a
// renamed group shows its new name, a team's directory only its groups.
func TestUserDirectoryShowsGroups(t *testing.T) {
	t.Parallel()
	svc, natsURL := startService(t)
	showPersonalData(t, natsURL, "globex")
	js := logAs(t, natsURL, "ledger")
	now := time.Now().UTC()
	n := 1 // the setting
	add := func(team string, ev *v1.Event) {
		t.Helper()
		n++
		ev.EventId, ev.OrgId, ev.TeamId, ev.ServerTime = fmt.Sprintf("grp-%03d", n), "globex", team, timestamppb.New(now)
		_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject("globex", team), ev, nil)
		require.NoError(t, err)
	}
	set := func(group, name string, products ...string) *v1.Event {
		return &v1.Event{Payload: &v1.Event_UserGroupSet{UserGroupSet: &v1.UserGroupSet{GroupId: group, Name: name, ProductCodes: products}}}
	}
	members := func(group string, added, removed []string) *v1.Event {
		return &v1.Event{Payload: &v1.Event_UserGroupMembersChanged{UserGroupMembersChanged: &v1.UserGroupMembersChanged{
			GroupId: group, AddedUserIds: added, RemovedUserIds: removed}}}
	}
	deleted := func(group string) *v1.Event {
		return &v1.Event{Payload: &v1.Event_UserGroupDeleted{UserGroupDeleted: &v1.UserGroupDeleted{GroupId: group}}}
	}
	add("design", &v1.Event{Payload: &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: "ann", ProductCodes: []string{"REVIT"}}}})
	add("design", set("drafters", "Drafters", "ACAD"))
	add("design", members("drafters", []string{"ann", "gia", "hal"}, nil))
	add("design", members("drafters", nil, []string{"hal"}))
	add("design", set("drafters", "CAD office", "ACAD"))
	add("design", set("old", "Old"))
	add("design", members("old", []string{"ann"}, nil))
	add("design", members("old", nil, []string{"ann"}))
	add("design", deleted("old"))
	add("design", set("temp", "Temp"))
	add("design", members("temp", []string{"gia"}, nil))
	add("design", deleted("temp")) // no removal before it: the group's end still ends membership
	add("civil", set("surveyors", "Surveyors", "CIVIL"))
	add("civil", members("surveyors", []string{"ann"}, nil))
	require.Eventually(t, func() bool { return svc.CaughtUpTo() >= uint64(n) }, 10*time.Second, 10*time.Millisecond)

	list := func(team string) map[string]*v1.DirectoryUser {
		t.Helper()
		resp, err := client(t, svc.Addr(), globexKey).ListUsers(t.Context(), &v1.ListUsersRequest{TeamId: team})
		require.NoError(t, err)
		out := map[string]*v1.DirectoryUser{}
		for _, u := range resp.GetUsers() {
			out[u.GetUserId()] = u
		}
		return out
	}
	groups := func(u *v1.DirectoryUser) []string {
		var out []string
		for _, g := range u.GetGroups() {
			out = append(out, g.GetTeamId()+"/"+g.GetGroupId()+" "+g.GetName())
		}
		return out
	}
	all := list("")
	require.Len(t, all, 3, "ann, gia and hal (once a member)")
	require.Equal(t, []string{"civil/surveyors Surveyors", "design/drafters CAD office"}, groups(all["ann"]), "by team, then group; the new name")
	require.Equal(t, []string{"design/drafters CAD office"}, groups(all["gia"]), "not in the deleted group")
	require.Equal(t, "assigned", all["gia"].GetStatus(), "a member may launch as if assigned")
	require.Empty(t, all["gia"].GetAssignments())
	require.Empty(t, groups(all["hal"]), "removed")
	require.Equal(t, "unassigned", all["hal"].GetStatus())

	civil := list("civil")
	require.Len(t, civil, 1)
	require.Equal(t, []string{"civil/surveyors Surveyors"}, groups(civil["ann"]), "one team's groups")
}
