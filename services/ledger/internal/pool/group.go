package pool

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The bounds of user groups.
const (
	// MaxGroupsPerTeam bounds the user groups of one team.
	MaxGroupsPerTeam = 256
	// MaxMembersPerGroup bounds the members of one group (and the users one
	// change may name).
	MaxMembersPerGroup = 1000
	// MaxGroupNameLen bounds a group's name (bytes).
	MaxGroupNameLen = 128
)

// ErrGroupExists is a create of a group id the team already has.
var ErrGroupExists = errors.New("user group already exists")

// userGroup is a team's user group: its members may open its products as
// if assigned them, and a USER_GROUP budget counts their charges.
type userGroup struct {
	name     string
	products map[string]bool // "*" = all
	members  map[string]bool
}

// Group is a user group as listed.
type Group struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Products and Members are sorted.
	Products []string `json:"products,omitempty"`
	Members  []string `json:"members,omitempty"`
}

// groupAllows reports whether a group user belongs to allows product, and
// whether user belongs to any group at all.
func (p *Pool) groupAllows(user, product string) (allowed, member bool) {
	for id := range p.memberOf[user] {
		g := p.groups[id]
		if g.products[product] || g.products["*"] {
			return true, true
		}
		member = true
	}
	return false, member
}

// isMember reports whether user belongs to group.
func (p *Pool) isMember(user, group string) bool { return p.memberOf[user][group] }

// Groups lists the team's user groups by id.
func (p *Pool) Groups() []Group {
	out := make([]Group, 0, len(p.groups))
	for _, id := range slices.Sorted(maps.Keys(p.groups)) {
		out = append(out, p.groupOf(id))
	}
	return out
}

// GroupByID returns one group, or false.
func (p *Pool) GroupByID(id string) (Group, bool) {
	if _, ok := p.groups[id]; !ok {
		return Group{}, false
	}
	return p.groupOf(id), true
}

func (p *Pool) groupOf(id string) Group {
	g := p.groups[id]
	return Group{ID: id, Name: g.name,
		Products: slices.Sorted(maps.Keys(g.products)), Members: slices.Sorted(maps.Keys(g.members))}
}

// UserGroups returns the ids of the groups user belongs to, sorted.
func (p *Pool) UserGroups(user string) []string {
	return slices.Sorted(maps.Keys(p.memberOf[user]))
}

// GroupChange is an admin's change to a user group.
type GroupChange struct {
	EventID, Group string
	Reason         string
	At             time.Time
	Actor          *v1.Actor
}

func (c GroupChange) check() error {
	var errs []error
	if c.Group == "" || len(c.Group) > MaxKeyLen {
		errs = append(errs, invalid("group_id", "is required, at most %d characters", MaxKeyLen))
	}
	if len(c.Reason) > MaxReasonLen {
		errs = append(errs, invalid("reason", "must be at most %d characters", MaxReasonLen))
	}
	return errors.Join(errs...)
}

// CheckGroupName returns the FieldError of a group name out of bounds.
func CheckGroupName(name string) error {
	if name == "" || len(name) > MaxGroupNameLen {
		return invalid("name", "is required, at most %d bytes", MaxGroupNameLen)
	}
	return nil
}

// CheckGroupProducts returns the FieldError of a group's products: at most
// MaxProductsPerUser (none: the group opens nothing, a budget only).
func CheckGroupProducts(products []string) error {
	if len(products) > MaxProductsPerUser {
		return invalid("product_codes", "at most %d products, got %d", MaxProductsPerUser, len(products))
	}
	return nil
}

// CheckGroupMembers returns the FieldErrors of a membership change's lists:
// each at most MaxMembersPerGroup users, no user in both.
func CheckGroupMembers(added, removed []string) error {
	var errs []error
	for _, l := range []struct {
		field string
		users []string
	}{{"add_user_ids", added}, {"remove_user_ids", removed}} {
		if len(l.users) > MaxMembersPerGroup {
			errs = append(errs, invalid(l.field, "at most %d users, got %d", MaxMembersPerGroup, len(l.users)))
		}
		if slices.Contains(l.users, "") {
			errs = append(errs, invalid(l.field, "a user id is empty"))
		}
	}
	for _, u := range added {
		if slices.Contains(removed, u) {
			errs = append(errs, invalid("remove_user_ids", "a user is both added and removed"))
			break
		}
	}
	if len(added)+len(removed) == 0 {
		errs = append(errs, invalid("add_user_ids", "name the users to add or remove"))
	}
	return errors.Join(errs...)
}

// DecideCreateGroup returns the UserGroupSet event of a new group, with no
// products and no members.
func (p *Pool) DecideCreateGroup(c GroupChange, name string) (*v1.Event, error) {
	if err := errors.Join(c.check(), CheckGroupName(name)); err != nil {
		return nil, err
	}
	if _, ok := p.groups[c.Group]; ok {
		return nil, fmt.Errorf("group %s: %w", c.Group, ErrGroupExists)
	}
	if len(p.groups) >= MaxGroupsPerTeam {
		return nil, invalid("group_id", "the team already has %d groups, at most %d", len(p.groups), MaxGroupsPerTeam)
	}
	return p.groupSet(c, name, nil), nil
}

// DecideRenameGroup returns the UserGroupSet event renaming a group.
func (p *Pool) DecideRenameGroup(c GroupChange, name string) (*v1.Event, error) {
	if err := errors.Join(c.check(), CheckGroupName(name)); err != nil {
		return nil, err
	}
	g, err := p.group(c.Group)
	if err != nil {
		return nil, err
	}
	return p.groupSet(c, name, slices.Sorted(maps.Keys(g.products))), nil
}

// DecideGroupProducts returns the UserGroupSet event giving a group's
// members the products (replacing those it had).
func (p *Pool) DecideGroupProducts(c GroupChange, products []string) (*v1.Event, error) {
	if err := errors.Join(c.check(), CheckGroupProducts(products)); err != nil {
		return nil, err
	}
	g, err := p.group(c.Group)
	if err != nil {
		return nil, err
	}
	return p.groupSet(c, g.name, slices.Compact(slices.Sorted(slices.Values(products)))), nil
}

func (p *Pool) group(id string) (*userGroup, error) {
	g, ok := p.groups[id]
	if !ok {
		return nil, fmt.Errorf("group %s: %w", id, ErrNotFound)
	}
	return g, nil
}

func (p *Pool) groupSet(c GroupChange, name string, products []string) *v1.Event {
	ev := p.envelope(c.EventID, c.At, c.Actor)
	ev.Payload = &v1.Event_UserGroupSet{UserGroupSet: &v1.UserGroupSet{
		GroupId: c.Group, Name: name, ProductCodes: products, Reason: c.Reason,
	}}
	return ev
}

// DecideGroupMembers returns the UserGroupMembersChanged event adding and
// removing users: adding a member changes nothing, removing a user who is
// not one is ErrNotFound, and the group may hold at most MaxMembersPerGroup.
func (p *Pool) DecideGroupMembers(c GroupChange, added, removed []string) (*v1.Event, error) {
	if err := errors.Join(c.check(), CheckGroupMembers(added, removed)); err != nil {
		return nil, err
	}
	g, err := p.group(c.Group)
	if err != nil {
		return nil, err
	}
	added, removed = slices.Compact(slices.Sorted(slices.Values(added))), slices.Compact(slices.Sorted(slices.Values(removed)))
	for _, u := range removed {
		if !g.members[u] {
			return nil, fmt.Errorf("user %s is not a member of group %s: %w", u, c.Group, ErrNotFound)
		}
	}
	n := len(g.members) - len(removed)
	for _, u := range added {
		if !g.members[u] {
			n++
		}
	}
	if n > MaxMembersPerGroup {
		return nil, invalid("add_user_ids", "the group would have %d members, at most %d", n, MaxMembersPerGroup)
	}
	return p.membersChanged(c, added, removed), nil
}

func (p *Pool) membersChanged(c GroupChange, added, removed []string) *v1.Event {
	ev := p.envelope(c.EventID, c.At, c.Actor)
	ev.Payload = &v1.Event_UserGroupMembersChanged{UserGroupMembersChanged: &v1.UserGroupMembersChanged{
		GroupId: c.Group, AddedUserIds: added, RemovedUserIds: removed, Reason: c.Reason,
	}}
	return ev
}

// DecideDeleteGroup returns the events deleting a group: its members
// removed, its budgets deleted, then UserGroupDeleted — each effect its own
// event, so every reader of the log sees it. The extra events' ids derive
// from c.EventID.
func (p *Pool) DecideDeleteGroup(c GroupChange) ([]*v1.Event, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	g, err := p.group(c.Group)
	if err != nil {
		return nil, err
	}
	var out []*v1.Event
	if len(g.members) > 0 {
		sub := c
		sub.EventID = c.EventID + "/members"
		out = append(out, p.membersChanged(sub, nil, slices.Sorted(maps.Keys(g.members))))
	}
	for _, id := range p.budgetIDs() {
		b := p.budgets[id].b
		if b.GetScope() != v1.BudgetScope_BUDGET_SCOPE_USER_GROUP || b.GetKey() != c.Group {
			continue
		}
		ev := p.envelope(c.EventID+"/budget/"+id, c.At, c.Actor)
		ev.Payload = &v1.Event_BudgetSet{BudgetSet: &v1.BudgetSet{Budget: &v1.Budget{BudgetId: id, Deleted: true}}}
		out = append(out, ev)
	}
	ev := p.envelope(c.EventID, c.At, c.Actor)
	ev.Payload = &v1.Event_UserGroupDeleted{UserGroupDeleted: &v1.UserGroupDeleted{GroupId: c.Group, Reason: c.Reason}}
	return append(out, ev), nil
}

// applyGroup folds the user group events.
func (p *Pool) applyGroup(ev *v1.Event) {
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_UserGroupSet:
		e := pl.UserGroupSet
		g, ok := p.groups[e.GetGroupId()]
		if !ok {
			g = &userGroup{members: map[string]bool{}}
			p.groups[e.GetGroupId()] = g
		}
		g.name, g.products = e.GetName(), map[string]bool{}
		for _, c := range e.GetProductCodes() {
			g.products[c] = true
		}
	case *v1.Event_UserGroupMembersChanged:
		e := pl.UserGroupMembersChanged
		if g, ok := p.groups[e.GetGroupId()]; ok {
			for _, u := range e.GetRemovedUserIds() {
				p.leave(g, e.GetGroupId(), u)
			}
			for _, u := range e.GetAddedUserIds() {
				p.join(g, e.GetGroupId(), u)
			}
		}
	case *v1.Event_UserGroupDeleted:
		id := pl.UserGroupDeleted.GetGroupId()
		if g, ok := p.groups[id]; ok {
			for u := range g.members {
				p.leave(g, id, u)
			}
			delete(p.groups, id)
		}
	}
}

func (p *Pool) join(g *userGroup, id, user string) {
	g.members[user] = true
	if p.memberOf[user] == nil {
		p.memberOf[user] = map[string]bool{}
	}
	p.memberOf[user][id] = true
}

func (p *Pool) leave(g *userGroup, id, user string) {
	delete(g.members, user)
	delete(p.memberOf[user], id)
	if len(p.memberOf[user]) == 0 {
		delete(p.memberOf, user)
	}
}

// allGroups returns every group for a snapshot, by id.
func (p *Pool) allGroups() []Group {
	if len(p.groups) == 0 {
		return nil
	}
	return p.Groups()
}

// restoreGroups rebuilds the groups (and who belongs where) from a snapshot.
func (p *Pool) restoreGroups(gs []Group) {
	for _, rec := range gs {
		g := &userGroup{name: rec.Name, products: map[string]bool{}, members: map[string]bool{}}
		for _, c := range rec.Products {
			g.products[c] = true
		}
		p.groups[rec.ID] = g
		for _, u := range rec.Members {
			p.join(g, rec.ID, u)
		}
	}
}
