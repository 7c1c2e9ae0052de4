package sessions

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(h, m int) time.Time {
	return day0.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func sess(user, product, device string, from, to time.Time) Session {
	return Session{Team: "t", User: user, Product: product, Device: device, Window: "w-" + user + "-" + product,
		Start: from, Last: to, Ended: true, Active: int64(to.Sub(from).Seconds())}
}

func TestPeaksCountUsersAtOnce(t *testing.T) {
	ss := []Session{
		sess("ann", "REVIT", "a1", at(9, 0), at(12, 0)),
		sess("ann", "REVIT", "a2", at(10, 0), at(11, 0)), // ann again on a second device: still one user
		sess("bob", "REVIT", "b1", at(10, 30), at(13, 0)),
		sess("cy", "REVIT", "c1", at(12, 0), at(14, 0)),  // starts as ann's ends: they only touch
		sess("cy", "ACAD", "c1", at(8, 0), at(8, 0)),     // one event: open for a second
		sess("dee", "REVIT", "d1", at(23, 0), at(26, 0)), // across midnight
		sess("eve", "REVIT", "e1", at(47, 0), at(49, 0)), // ends after the range
	}
	got := Peaks(ss, day0, day0.AddDate(0, 0, 1))
	require.Equal(t, []Peak{
		{Day: day0, Product: "ACAD", Users: 1, At: at(8, 0)},
		{Day: day0, Product: "REVIT", Users: 2, At: at(10, 30)},
		{Day: day0.AddDate(0, 0, 1), Product: "REVIT", Users: 1, At: at(24, 0)},
	}, got)
	// Day 1 alone: dee, carried over midnight, and fay overlap from 01:00.
	got = Peaks(append(ss, sess("fay", "REVIT", "f1", at(25, 0), at(25, 30))), day0.AddDate(0, 0, 1), day0.AddDate(0, 0, 1))
	require.Equal(t, []Peak{{Day: day0.AddDate(0, 0, 1), Product: "REVIT", Users: 2, At: at(25, 0)}}, got)
}

func TestPeaksCarryALongSessionThroughDaysWithoutEvents(t *testing.T) {
	got := Peaks([]Session{sess("ann", "REVIT", "a", at(-30, 0), at(60, 0))}, day0, day0.AddDate(0, 0, 1))
	require.Equal(t, []Peak{
		{Day: day0, Product: "REVIT", Users: 1, At: day0},
		{Day: day0.AddDate(0, 0, 1), Product: "REVIT", Users: 1, At: at(24, 0)},
	}, got)
}

func TestTotals(t *testing.T) {
	a := sess("ann", "REVIT", "pc-1", at(9, 0), at(10, 0))
	a.Active, a.Idle = 2700, 900
	b := sess("bob", "REVIT", "pc-1", at(11, 0), at(11, 30))
	b.Active, b.Idle = 600, 1200
	c := sess("ann", "ACAD", "pc-2", at(12, 0), at(12, 10))
	c.Active, c.Idle = 600, 0
	products := ByProduct([]Session{a, b, c})
	require.Len(t, products, 2)
	revit := products[0]
	require.Equal(t, "REVIT", revit.Key)
	require.Equal(t, [4]int64{2, 2, 5400, 2100}, [4]int64{revit.Sessions, revit.Users, revit.Open, revit.Idle})
	require.InDelta(t, 38.888, revit.IdlePercent(), 0.001)
	require.Equal(t, int64(2700), revit.AverageOpen())
	devices := ByDevice([]Session{a, b, c})
	require.Equal(t, "pc-1", devices[0].Key)
	require.Equal(t, []string{"REVIT"}, devices[0].Products)
	require.Equal(t, at(11, 30), devices[0].LastSeen)
	require.Equal(t, "pc-2", devices[1].Key)
	require.Zero(t, Totals{}.IdlePercent())
}

func TestBriefCharges(t *testing.T) {
	now := at(30, 0)
	rules := Rules{Brief: 30 * time.Minute, Live: 15 * time.Minute}
	short := sess("ann", "REVIT", "pc", at(9, 0), at(9, 10)) // 600 s
	again := sess("ann", "REVIT", "pc-2", at(15, 0), at(15, 19))
	again.Active, again.Idle = 900, 240                     // with the first: 1,740 s < 30 min
	long := sess("bob", "REVIT", "pc", at(9, 0), at(9, 30)) // exactly 30 min: not brief
	live := sess("cy", "REVIT", "pc", at(29, 50), at(29, 55))
	live.Ended = false
	silent := sess("dee", "ACAD", "pc", at(9, 0), at(9, 5))
	silent.Ended = false // never ended, gone silent: judged
	charges := []Charge{
		{Team: "t", User: "ann", Product: "REVIT", Window: "w-ann-REVIT", At: at(9, 0), Tokens: 10},
		{Team: "t", User: "bob", Product: "REVIT", Window: "w-bob-REVIT", At: at(9, 0), Tokens: 10},
		{Team: "t", User: "cy", Product: "REVIT", Window: "w-cy-REVIT", At: at(29, 50), Tokens: 10},
		{Team: "t", User: "dee", Product: "ACAD", Window: "w-dee-ACAD", At: at(9, 0), Tokens: 7},
		{Team: "t", User: "gus", Product: "ACAD", Window: "w-gus", At: at(9, 0), Tokens: 7}, // no telemetry
	}
	brief, charged := BriefCharges([]Session{short, again, long, live, silent}, charges, rules, now)
	require.Equal(t, int64(27), charged)
	require.Equal(t, []Brief{
		{Charge: charges[3], Sessions: 1, Open: 300, Active: 300},
		{Charge: charges[0], Sessions: 2, Open: 1740, Active: 1500},
	}, brief, "same second: by team, product (ACAD first), window")
	require.Less(t, brief[0].Key(), brief[1].Key())
	newer := Brief{Charge: Charge{At: at(10, 0)}}
	require.Less(t, newer.Key(), brief[0].Key(), "newest first")
}

func TestOpenNow(t *testing.T) {
	now := at(12, 0)
	old := sess("ann", "REVIT", "pc", at(8, 0), at(11, 50))
	old.Ended = false
	recent := sess("bob", "REVIT", "pc", at(11, 0), at(11, 45))
	recent.Ended = false
	silent := sess("cy", "REVIT", "pc", at(9, 0), at(11, 44))
	silent.Ended = false
	ended := sess("dee", "REVIT", "pc", at(11, 0), at(11, 59))
	got := OpenNow([]Session{old, recent, silent, ended}, now, 15*time.Minute)
	require.Equal(t, []Session{recent, old}, got)
}

// Peaks are per day of the organisation's zone: in Los Angeles (UTC-8 in
// January) dee's session from 23:00 to 02:00 UTC is all on the local day
// before, and a session carried through days meets local midnights.
func TestPeaksFollowTheZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	prev := day0.AddDate(0, 0, -1)
	got := PeaksIn([]Session{sess("dee", "REVIT", "d1", at(23, 0), at(26, 0))}, prev, day0.AddDate(0, 0, 1), la)
	require.Equal(t, []Peak{{Day: day0, Product: "REVIT", Users: 1, At: at(23, 0)}}, got, "15:00-18:00 local, one day")
	got = PeaksIn([]Session{sess("ann", "REVIT", "a", at(-30, 0), at(60, 0))}, day0, day0.AddDate(0, 0, 1), la)
	require.Equal(t, []Peak{
		{Day: day0, Product: "REVIT", Users: 1, At: day0.Add(8 * time.Hour)},
		{Day: day0.AddDate(0, 0, 1), Product: "REVIT", Users: 1, At: at(32, 0)},
	}, got, "the level held starts each local day at its midnight")
}
