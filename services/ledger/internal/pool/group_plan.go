package pool

import (
	"slices"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// MaxPlanGroups bounds the user groups one assignment row names.
const MaxPlanGroups = 32

// PlanGroups says which of groups user is not a member of yet (sorted,
// each once), for an assignment row that wants the user in them; a row
// that unassigns names none, and a group the team lacks refuses the row.
func (p *Pool) PlanGroups(user string, groups []string, unassign bool) ([]string, error) {
	switch {
	case len(groups) == 0:
		return nil, nil
	case unassign:
		return nil, invalid("group_ids", "an unassign row joins no group")
	case len(groups) > MaxPlanGroups:
		return nil, invalid("group_ids", "at most %d groups, got %d", MaxPlanGroups, len(groups))
	}
	var join []string
	for _, id := range slices.Compact(slices.Sorted(slices.Values(groups))) {
		g, ok := p.groups[id]
		if !ok {
			return nil, invalid("group_ids", "the team has no group %s", quote.Prefix(id))
		}
		if !g.members[user] {
			join = append(join, id)
		}
	}
	return join, nil
}
