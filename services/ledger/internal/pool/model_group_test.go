package pool

import (
	"fmt"
	"maps"
	"slices"

	"pgregory.net/rapid"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The model's user groups: plain name, products and member set, read by the
// model's refusal (a member opens the group's products) and its USER_GROUP
// budgets (a member's charge counts).

type mGroup struct {
	name     string
	products []string
	members  map[string]bool
}

var mGroups = []string{"g1", "g1", "g2"}

// group draws one change to a user group and checks the core decides it as
// the model does.
func (w *world) group(t *rapid.T) {
	_, s := w.pick(t)
	op := rapid.SampledFrom([]string{"create", "create", "rename", "products", "products", "members", "members", "members", "delete"}).Draw(t, "groupOp")
	c := GroupChange{EventID: w.nextID("grp"), Group: rapid.SampledFrom(mGroups).Draw(t, "group"), At: w.now}
	m, dueM := s.model, s.model.dueExpiries(w.now)
	var (
		wantErr error
		decide  func(p *Pool) ([]*v1.Event, error)
	)
	one := func(ev *v1.Event, err error) ([]*v1.Event, error) { return []*v1.Event{ev}, err }
	switch op {
	case "create", "rename":
		name := rapid.SampledFrom([]string{"Drafters", "Render farm", ""}).Draw(t, "name")
		wantErr = m.groupNamed(c, name, op == "create")
		decide = func(p *Pool) ([]*v1.Event, error) {
			if op == "create" {
				return one(p.DecideCreateGroup(c, name))
			}
			return one(p.DecideRenameGroup(c, name))
		}
	case "products":
		products := rapid.SampledFrom([][]string{{"ACAD"}, {"REVIT", "MAX"}, {"*"}, {}, {"CIVIL", "CIVIL"}}).Draw(t, "groupProducts")
		wantErr = m.groupProducts(c, products)
		decide = func(p *Pool) ([]*v1.Event, error) { return one(p.DecideGroupProducts(c, products)) }
	case "members":
		added := rapid.SliceOfNDistinct(rapid.SampledFrom(mUsers), 0, 2, rapid.ID[string]).Draw(t, "added")
		removed := rapid.SliceOfNDistinct(rapid.SampledFrom(mUsers), 0, 1, rapid.ID[string]).Draw(t, "removed")
		wantErr = m.groupMembers(c, added, removed)
		decide = func(p *Pool) ([]*v1.Event, error) { return one(p.DecideGroupMembers(c, added, removed)) }
	default:
		wantErr = m.deleteGroup(c)
		decide = func(p *Pool) ([]*v1.Event, error) { return p.DecideDeleteGroup(c) }
	}
	err := w.step(t, s, w.now, dueM, decide)
	sameErr(t, op+" group "+c.EventID, err, wantErr)
}

func (m *mPool) groupNamed(c GroupChange, name string, create bool) error {
	g, exists := m.groups[c.Group]
	switch {
	case name == "":
		return ErrInvalid
	case create && exists:
		return ErrGroupExists
	case !create && !exists:
		return ErrNotFound
	case create:
		g = &mGroup{members: map[string]bool{}}
		m.groups[c.Group] = g
	}
	g.name = name
	m.answers[c.EventID] = authorized
	return nil
}

func (m *mPool) groupProducts(c GroupChange, products []string) error {
	g, ok := m.groups[c.Group]
	if !ok {
		return ErrNotFound
	}
	g.products = slices.Clone(products)
	m.answers[c.EventID] = authorized
	return nil
}

func (m *mPool) groupMembers(c GroupChange, added, removed []string) error {
	g, ok := m.groups[c.Group]
	switch {
	case len(added)+len(removed) == 0:
		return ErrInvalid
	case slices.ContainsFunc(added, func(u string) bool { return slices.Contains(removed, u) }):
		return ErrInvalid
	case !ok:
		return ErrNotFound
	case slices.ContainsFunc(removed, func(u string) bool { return !g.members[u] }):
		return ErrNotFound
	}
	for _, u := range removed {
		delete(g.members, u)
	}
	for _, u := range added {
		g.members[u] = true
	}
	m.answers[c.EventID] = authorized
	return nil
}

// deleteGroup: the members leave, the group's budgets go, then the group.
func (m *mPool) deleteGroup(c GroupChange) error {
	g, ok := m.groups[c.Group]
	if !ok {
		return ErrNotFound
	}
	if len(g.members) > 0 {
		m.answers[c.EventID+"/members"] = authorized
	}
	for id, b := range m.budgets {
		if b.scope == v1.BudgetScope_BUDGET_SCOPE_USER_GROUP && b.key == c.Group {
			delete(m.budgets, id)
			m.answers[c.EventID+"/budget/"+id] = authorized
		}
	}
	delete(m.groups, c.Group)
	m.answers[c.EventID] = authorized
	return nil
}

// checkGroups: the core lists the model's groups, and knows who belongs where.
func checkGroups(t *rapid.T, s *side) {
	var want []string
	for _, id := range slices.Sorted(maps.Keys(s.model.groups)) {
		g := s.model.groups[id]
		products := slices.Compact(slices.Sorted(slices.Values(g.products)))
		want = append(want, fmt.Sprintf("%s %q %v %v", id, g.name, products, slices.Sorted(maps.Keys(g.members))))
	}
	var got []string
	for _, g := range s.core.Groups() {
		got = append(got, fmt.Sprintf("%s %q %v %v", g.ID, g.Name, g.Products, g.Members))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: groups: core %v, model %v", s.core.Team, got, want)
	}
	for _, u := range mUsers {
		var in []string
		for _, id := range slices.Sorted(maps.Keys(s.model.groups)) {
			if s.model.groups[id].members[u] {
				in = append(in, id)
			}
		}
		if got := s.core.UserGroups(u); !slices.Equal(got, in) {
			t.Fatalf("%s: %s belongs to %v, model %v", s.core.Team, u, got, in)
		}
	}
}
