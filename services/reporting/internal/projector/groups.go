package projector

import (
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// User group event kinds in the user_group_events table.
const (
	GroupKindSet     = "set"
	GroupKindMembers = "members"
	GroupKindDeleted = "deleted"
)

// UserGroupEvents projects a team's user groups: set (name and products as
// they stand), members added and removed, deleted.
var UserGroupEvents = Projection{
	Table:  "user_group_events",
	Stream: eventlog.LedgerStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "group_id", "day", "at",
		"kind", "name", "product_codes", "added_user_ids", "removed_user_ids", "actor",
	},
	Map: userGroupRow,
}

func userGroupRow(seq uint64, ev *v1.Event) (Record, bool) {
	var (
		kind, group, name      string
		products, add, removed = []string{}, []string{}, []string{}
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_UserGroupSet:
		e := pl.UserGroupSet
		kind, group, name = GroupKindSet, e.GetGroupId(), e.GetName()
		products = append(products, e.GetProductCodes()...)
	case *v1.Event_UserGroupMembersChanged:
		e := pl.UserGroupMembersChanged
		kind, group = GroupKindMembers, e.GetGroupId()
		add, removed = append(add, e.GetAddedUserIds()...), append(removed, e.GetRemovedUserIds()...)
	case *v1.Event_UserGroupDeleted:
		kind, group = GroupKindDeleted, pl.UserGroupDeleted.GetGroupId()
	default:
		return nil, false
	}
	actor := ""
	if a := ev.GetActor(); a != nil {
		actor = a.GetKind() + ":" + a.GetId()
	}
	at := serverTime(ev)
	day := dayOf(at)
	return &record{seq: seq, day: day, values: []any{
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), group, day, at,
		kind, name, products, add, removed, actor,
	}}, true
}
