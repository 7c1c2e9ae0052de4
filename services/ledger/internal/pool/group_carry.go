package pool

import (
	"maps"
	"slices"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// carried is a group as this pool would hold it after taking in g: a group
// of an id it lacks as g was; one it has keeps its name and gains g's
// products and members.
func (p *Pool) carried(g Group) (name string, products, members []string) {
	mine, ok := p.groups[g.ID]
	if !ok {
		return g.Name, g.Products, g.Members
	}
	products = slices.Compact(slices.Sorted(slices.Values(append(slices.Collect(maps.Keys(mine.products)), g.Products...))))
	members = slices.Compact(slices.Sorted(slices.Values(append(slices.Collect(maps.Keys(mine.members)), g.Members...))))
	return mine.name, products, members
}

// CheckCarryGroups returns the FieldError (named field) of carrying the
// groups of a merged pool into this one past the bounds: more than
// MaxGroupsPerTeam groups, or a group past MaxMembersPerGroup members or
// MaxProductsPerUser products.
func (p *Pool) CheckCarryGroups(field string, groups []Group) error {
	n := len(p.groups)
	for _, g := range groups {
		if _, ok := p.groups[g.ID]; !ok {
			n++
		}
		_, products, members := p.carried(g)
		if len(members) > MaxMembersPerGroup || len(products) > MaxProductsPerUser {
			return invalid(field, "user group %s would have %d members and %d products here, at most %d and %d",
				g.ID, len(members), len(products), MaxMembersPerGroup, MaxProductsPerUser)
		}
	}
	if n > MaxGroupsPerTeam {
		return invalid(field, "the team would have %d user groups, at most %d", n, MaxGroupsPerTeam)
	}
	return nil
}

// DecideCarryGroups returns the events giving this pool the groups of a
// pool merged into it (see carried), under ids derived from prefix; a
// group whose events are already applied (a retried merge) is skipped.
func (p *Pool) DecideCarryGroups(field, prefix string, groups []Group, at time.Time, actor *v1.Actor) ([]*v1.Event, error) {
	if err := p.CheckCarryGroups(field, groups); err != nil {
		return nil, err
	}
	var out []*v1.Event
	for _, g := range groups {
		c := GroupChange{EventID: prefix + "/group/" + g.ID, Group: g.ID, Reason: "merged", At: at, Actor: actor}
		if _, done := p.applied[c.EventID]; done {
			continue
		}
		name, products, _ := p.carried(g)
		out = append(out, p.groupSet(c, name, products))
		if len(g.Members) > 0 {
			m := c
			m.EventID += "/members"
			out = append(out, p.membersChanged(m, g.Members, nil))
		}
	}
	return out, nil
}
