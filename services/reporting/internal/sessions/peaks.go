package sessions

import (
	"cmp"
	"slices"
	"time"
)

// Peak is the most users who had a product open at one instant of a day.
type Peak struct {
	// Day is a UTC midnight.
	Day     time.Time
	Product string
	Users   int64
	// At is when the day's peak was first reached.
	At time.Time
}

// edge is a session opening (+1) or closing (-1) for its user.
type edge struct {
	at    time.Time
	user  string
	delta int
}

// Peaks counts, per product and UTC day from from to to (midnights, both
// included), the most distinct users with a session of it open at the same
// instant. A session is open from its first event up to, not including, its
// last (at least one second): sessions that only touch do not overlap, and
// one user's sessions on two devices count once. A session across midnight
// counts on both days. Days in order, then products; days without a
// session are left out.
func Peaks(ss []Session, from, to time.Time) []Peak {
	byProduct := map[string][]edge{}
	for _, s := range ss {
		end := s.Last
		if !end.After(s.Start) {
			end = s.Start.Add(time.Second)
		}
		byProduct[s.Product] = append(byProduct[s.Product], edge{s.Start, s.User, 1}, edge{end, s.User, -1})
	}
	var out []Peak
	for product, edges := range byProduct {
		out = append(out, productPeaks(product, edges, from, to)...)
	}
	slices.SortFunc(out, func(a, b Peak) int { return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Product, b.Product)) })
	return out
}

// productPeaks sweeps one product's edges in time order, closings before
// openings at the same instant.
func productPeaks(product string, edges []edge, from, to time.Time) []Peak {
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.delta, b.delta)) })
	last := to.AddDate(0, 0, 1)
	peaks := map[time.Time]*Peak{}
	var order []time.Time
	note := func(level int64, at time.Time) {
		if level == 0 || at.Before(from) || !at.Before(last) {
			return
		}
		day := at.UTC().Truncate(24 * time.Hour)
		p := peaks[day]
		if p == nil {
			p = &Peak{Day: day, Product: product}
			peaks[day] = p
			order = append(order, day)
		}
		if level > p.Users {
			p.Users, p.At = level, at
		}
	}
	open := map[string]int{}
	var level int64
	for i := 0; i < len(edges); {
		t := edges[i].at
		if i > 0 {
			// The level held since the previous instant starts each day in between.
			for m := edges[i-1].at.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1); m.Before(t); m = m.AddDate(0, 0, 1) {
				note(level, m)
			}
		}
		for ; i < len(edges) && edges[i].at.Equal(t); i++ {
			e := edges[i]
			before := open[e.user]
			open[e.user] += e.delta
			switch {
			case before == 0 && e.delta > 0:
				level++
			case before == 1 && e.delta < 0:
				level--
			}
		}
		note(level, t)
	}
	out := make([]Peak, 0, len(order))
	for _, d := range order {
		out = append(out, *peaks[d])
	}
	return out
}
