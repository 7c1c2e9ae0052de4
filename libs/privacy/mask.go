package privacy

import (
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Mask returns ev as the organisation may see it: for a pseudonymised one, a
// copy whose user ids, device ids, launcher-made event and window ids,
// personal attributes and user budget keys are pseudonyms (ev is not
// changed). This is the one list of the personal fields of an event.
func (s *Shown) Mask(ev *v1.Event) *v1.Event {
	if s.raw && len(s.erased) > 0 && ev != nil && s.isErased(userOf(ev)) {
		return s.pseudonymous().Mask(ev)
	}
	if s.raw || ev == nil {
		return ev
	}
	ev = proto.Clone(ev).(*v1.Event)
	if s.maskLaunch(ev) {
		ev.EventId = s.Event(ev.GetEventId())
		return ev
	}
	switch p := ev.GetPayload().(type) {
	case *v1.Event_UserAssigned:
		p.UserAssigned.UserId = s.User(p.UserAssigned.GetUserId())
	case *v1.Event_UserUnassigned:
		p.UserUnassigned.UserId = s.User(p.UserUnassigned.GetUserId())
	case *v1.Event_UserErased:
		p.UserErased.UserId = s.User(p.UserErased.GetUserId())
	case *v1.Event_UserProfileSet:
		p.UserProfileSet.UserId = s.User(p.UserProfileSet.GetUserId())
		p.UserProfileSet.DisplayName, p.UserProfileSet.Email, p.UserProfileSet.Sealed = "", "", nil
	case *v1.Event_UserGroupMembersChanged:
		e := p.UserGroupMembersChanged
		e.AddedUserIds, e.RemovedUserIds = s.users(e.GetAddedUserIds()), s.users(e.GetRemovedUserIds())
	case *v1.Event_BudgetSet:
		s.MaskBudget(p.BudgetSet.GetBudget())
	case *v1.Event_BudgetCrossed:
		p.BudgetCrossed.UserId = s.User(p.BudgetCrossed.GetUserId())
	case *v1.Event_CapacityUsed:
		// A checkout is named by the event id of the launcher that made it.
		p.CapacityUsed.UserId, p.CapacityUsed.CheckoutId = s.User(p.CapacityUsed.GetUserId()), s.Event(p.CapacityUsed.GetCheckoutId())
		ev.EventId = s.Event(ev.GetEventId())
	case *v1.Event_CapacityReturned:
		p.CapacityReturned.CheckoutId = s.Event(p.CapacityReturned.GetCheckoutId())
		ev.EventId = s.Event(ev.GetEventId())
	}
	return ev
}

// maskLaunch masks the events a launch, heartbeat or session end makes
// (their ids are the launcher's, often built from user and device) and
// reports whether ev was one.
func (s *Shown) maskLaunch(ev *v1.Event) bool {
	switch p := ev.GetPayload().(type) {
	case *v1.Event_LaunchReceived:
		e := p.LaunchReceived
		e.UserId, e.DeviceId, e.WindowId = s.User(e.GetUserId()), s.Device(e.GetDeviceId()), s.Event(e.GetWindowId())
		e.Attributes = s.Attributes(e.GetAttributes())
	case *v1.Event_HeartbeatReceived:
		e := p.HeartbeatReceived
		e.UserId, e.DeviceId, e.WindowId = s.User(e.GetUserId()), s.Device(e.GetDeviceId()), s.Event(e.GetWindowId())
	case *v1.Event_SessionEnded:
		e := p.SessionEnded
		e.UserId, e.DeviceId, e.WindowId = s.User(e.GetUserId()), s.Device(e.GetDeviceId()), s.Event(e.GetWindowId())
	case *v1.Event_WindowCharged:
		e := p.WindowCharged
		e.UserId, e.DeviceId, e.WindowId = s.User(e.GetUserId()), s.Device(e.GetDeviceId()), s.Event(e.GetWindowId())
		e.Attributes = s.Attributes(e.GetAttributes())
	case *v1.Event_LaunchCovered:
		e := p.LaunchCovered
		e.UserId, e.DeviceId, e.WindowId = s.User(e.GetUserId()), s.Device(e.GetDeviceId()), s.Event(e.GetWindowId())
		e.Attributes = s.Attributes(e.GetAttributes())
	case *v1.Event_LaunchDenied:
		e := p.LaunchDenied
		e.UserId, e.DeviceId = s.User(e.GetUserId()), s.Device(e.GetDeviceId())
		e.Attributes = s.Attributes(e.GetAttributes())
	default:
		return false
	}
	return true
}

// MaskBudget pseudonymises, in place, a budget's key when it names a user
// or the value of a personal attribute.
func (s *Shown) MaskBudget(b *v1.Budget) {
	if b == nil || s.raw && len(s.erased) == 0 {
		return
	}
	switch {
	case b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_USER:
		b.Key = s.User(b.GetKey())
	case !s.raw && b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE && PersonalAttribute(b.GetAttributeKey()):
		b.Key = s.show(ValuePrefix, b.GetKey())
	}
}

// userOf is the user an event concerns: its payload's user_id, or the key
// of a user budget; "" for none.
func userOf(ev *v1.Event) string {
	if b := ev.GetBudgetSet().GetBudget(); b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_USER {
		return b.GetKey()
	}
	m := ev.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("payload"))
	if f == nil {
		return ""
	}
	if u, ok := m.Get(f).Message().Interface().(interface{ GetUserId() string }); ok {
		return u.GetUserId()
	}
	return ""
}

// users returns the pseudonyms of ids.
func (s *Shown) users(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.User(id)
	}
	return out
}
