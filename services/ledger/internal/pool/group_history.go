package pool

import (
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// describeGroup fills the user group events. A membership change names its
// user (for the edge to mask) only when it concerns one; the detail counts
// users rather than listing them, so it never shows a person.
func describeGroup(ev *v1.Event, tx *v1.Transaction) (*v1.Transaction, bool) {
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_UserGroupSet:
		e := pl.UserGroupSet
		tx.Type, tx.Reason = "user_group_set", e.GetReason()
		tx.Detail = fmt.Sprintf("user group %s (%q) opens %s", e.GetGroupId(), e.GetName(), productsText(e.GetProductCodes()))
	case *v1.Event_UserGroupMembersChanged:
		e := pl.UserGroupMembersChanged
		tx.Type, tx.Reason = "user_group_members_changed", e.GetReason()
		added, removed := e.GetAddedUserIds(), e.GetRemovedUserIds()
		if len(added)+len(removed) == 1 {
			tx.UserId = append(added, removed...)[0]
		}
		tx.Detail = fmt.Sprintf("user group %s: %d added, %d removed", e.GetGroupId(), len(added), len(removed))
	case *v1.Event_UserGroupDeleted:
		e := pl.UserGroupDeleted
		tx.Type, tx.Reason, tx.Detail = "user_group_deleted", e.GetReason(), "user group "+e.GetGroupId()+" deleted"
	default:
		return nil, false
	}
	return tx, true
}
