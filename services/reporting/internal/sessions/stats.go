package sessions

import (
	"cmp"
	"slices"
	"time"
)

// Totals are the sessions of one product or device.
type Totals struct {
	Key                string
	Sessions, Users    int64
	Open, Active, Idle int64
	Products           []string
	LastSeen           time.Time
	users, productSet  map[string]bool
}

// IdlePercent is the share of the open time that was idle, in percent.
func (t Totals) IdlePercent() float64 {
	if t.Open == 0 {
		return 0
	}
	return float64(t.Idle) * 100 / float64(t.Open)
}

// AverageOpen is the mean open time of a session, in whole seconds.
func (t Totals) AverageOpen() int64 {
	if t.Sessions == 0 {
		return 0
	}
	return t.Open / t.Sessions
}

func (t *Totals) add(s Session) {
	if t.users == nil {
		t.users, t.productSet = map[string]bool{}, map[string]bool{}
	}
	t.Sessions++
	t.Open += s.Open()
	t.Active += s.Active
	t.Idle += s.Idle
	t.users[s.User] = true
	t.productSet[s.Product] = true
	if s.Last.After(t.LastSeen) {
		t.LastSeen = s.Last
	}
}

// ByProduct totals ss per product; ByDevice per device. Both put the most
// open time first (then the key).
func ByProduct(ss []Session) []Totals { return totals(ss, func(s Session) string { return s.Product }) }

// ByDevice totals ss per device, with the products used on each.
func ByDevice(ss []Session) []Totals { return totals(ss, func(s Session) string { return s.Device }) }

func totals(ss []Session, key func(Session) string) []Totals {
	by := map[string]*Totals{}
	for _, s := range ss {
		k := key(s)
		t := by[k]
		if t == nil {
			t = &Totals{Key: k}
			by[k] = t
		}
		t.add(s)
	}
	out := make([]Totals, 0, len(by))
	for _, t := range by {
		t.Users = int64(len(t.users))
		for p := range t.productSet {
			t.Products = append(t.Products, p)
		}
		slices.Sort(t.Products)
		t.users, t.productSet = nil, nil
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Totals) int { return cmp.Or(cmp.Compare(b.Open, a.Open), cmp.Compare(a.Key, b.Key)) })
	return out
}
