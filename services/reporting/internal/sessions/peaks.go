package sessions

import (
	"cmp"
	"slices"
	"time"
)

// Peak is the most users who had a product open at one instant of a day.
type Peak struct {
	// Day is a date of the zone, held as its UTC midnight.
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

// Peaks is PeaksIn in UTC.
func Peaks(ss []Session, from, to time.Time) []Peak {
	return PeaksIn(ss, from, to, time.UTC)
}

// PeaksIn counts, per product and day of zone from from to to (dates held
// as UTC midnights, both included), the most distinct users with a session of it open at the same
// instant. A session is open from its first event up to, not including, its
// last (at least one second): sessions that only touch do not overlap, and
// one user's sessions on two devices count once. A session across midnight
// counts on both days. Days in order, then products; days without a
// session are left out.
func PeaksIn(ss []Session, from, to time.Time, zone *time.Location) []Peak {
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
		out = append(out, productPeaks(product, edges, from, to, zone)...)
	}
	slices.SortFunc(out, func(a, b Peak) int { return cmp.Or(a.Day.Compare(b.Day), cmp.Compare(a.Product, b.Product)) })
	return out
}

// productPeaks sweeps one product's edges in time order, closings before
// openings at the same instant.
func productPeaks(product string, edges []edge, from, to time.Time, zone *time.Location) []Peak {
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.delta, b.delta)) })
	from, last := midnight(from, zone), midnight(to.AddDate(0, 0, 1), zone)
	peaks := map[time.Time]*Peak{}
	var order []time.Time
	note := func(level int64, at time.Time) {
		if level == 0 || at.Before(from) || !at.Before(last) {
			return
		}
		day := dateIn(at, zone)
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
			for m := nextMidnight(edges[i-1].at, zone); m.Before(t); m = nextMidnight(m, zone) {
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

// midnight is the instant date (held as a UTC midnight) begins in zone.
func midnight(date time.Time, zone *time.Location) time.Time {
	return time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, zone)
}

// dateIn is at's date in zone, held as a UTC midnight.
func dateIn(at time.Time, zone *time.Location) time.Time {
	l := at.In(zone)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// nextMidnight is the first midnight of zone after at, in UTC like the
// sessions' times.
func nextMidnight(at time.Time, zone *time.Location) time.Time {
	return midnight(dateIn(at, zone).AddDate(0, 0, 1), zone).UTC()
}
