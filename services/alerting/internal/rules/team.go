package rules

import (
	"slices"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/forecast"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// historyDays is how far back a user's active days are kept: a year and a day.
const historyDays = 366

// team is the rule state of one pool: the facts folded from its events and
// each rule's memory of what it already raised.
type team struct {
	// known is false until an event carried the pool's figures.
	known bool
	// available and live are the figures after the last event that carried them.
	available, live int64
	packs           map[string]*pack
	// usage is tokens charged per day of the organisation's dates (UTC
	// midnights, as forecast.Input.Daily), from forecast.HistoryFrom on.
	usage      map[time.Time]int64
	firstUsage int64 // day number of the first charge; valid when hasUsage
	hasUsage   bool
	// usage holds no day before prunedTo, forecast.HistoryFrom(prunedFor).
	prunedFor, prunedTo int64
	outlook             outlook
	users               map[string]*user

	lowBalance, launchDenied, forecast, burnPace bool
	tiers                                        map[float64]bool
	spikeDay                                     int64 // day number of the last spike alert, -1: none
	capacity                                     map[string]bool
}

// pack is a live pack and how many of its tokens are still unused.
type pack struct {
	remaining          int64
	purchased, expires time.Time
	warnedWithin       int // smallest expiry threshold (days) already alerted, 0: none
}

// user is an assigned or active user of a team.
type user struct {
	assigned   bool
	assignedAt time.Time
	lastActive time.Time
	// days are the day numbers the user was active, ascending, last historyDays.
	days []int64
	// products opened on productsDay.
	productsDay int64
	products    []string
	multiFired  bool
	heavy       bool
	inactive    bool
}

func newTeam() *team {
	return &team{packs: map[string]*pack{}, usage: map[time.Time]int64{}, users: map[string]*user{},
		tiers: map[float64]bool{}, spikeDay: -1, capacity: map[string]bool{}}
}

func (t *team) user(id string) *user {
	u := t.users[id]
	if u == nil {
		u = &user{productsDay: -1}
		t.users[id] = u
	}
	return u
}

// debit takes a debit's split from the packs it names.
func (t *team) debit(split []*v1.PackSplit) {
	for _, s := range split {
		if p := t.packs[s.GetPackId()]; p != nil {
			p.remaining = max(0, p.remaining-s.GetTokens())
		}
	}
}

// charge records tokens charged on day d (a day number of the
// organisation's dates).
func (t *team) charge(d int64, tokens int64) {
	if !t.hasUsage || d < t.firstUsage {
		t.firstUsage, t.hasUsage = d, true
	}
	t.usage[dayTime(d)] += tokens
	if t.outlook.ok && d < t.outlook.day {
		t.outlook.ok = false // a late charge changes a day the model read
	}
	t.prune(d)
}

// prune drops the days before forecast.HistoryFrom(today): no rule reads them.
func (t *team) prune(today int64) {
	if today <= t.prunedFor {
		return
	}
	t.prunedFor = today
	from := forecast.HistoryFrom(dayTime(today))
	if n := dayNumber(from); n > t.prunedTo { // a new month
		for old := range t.usage {
			if old.Before(from) {
				delete(t.usage, old)
			}
		}
		t.prunedTo = n
	}
}

// usageBetween sums the tokens charged on days [from, to).
func (t *team) usageBetween(from, to int64) int64 {
	var sum int64
	if to-from > int64(len(t.usage)) {
		for d, n := range t.usage {
			if x := dayNumber(d); x >= from && x < to {
				sum += n
			}
		}
		return sum
	}
	for d := from; d < to; d++ {
		sum += t.usage[dayTime(d)]
	}
	return sum
}

// term is the span of the live packs: earliest purchase to latest expiry.
func (t *team) term() (start, end time.Time, ok bool) {
	for _, p := range t.packs {
		if !ok || p.purchased.Before(start) {
			start = p.purchased
		}
		if !ok || p.expires.After(end) {
			end = p.expires
		}
		ok = true
	}
	return start, end, ok && !start.IsZero() && end.After(start)
}

// seen records that u launched something at at, which re-arms inactive_user.
func (u *user) seen(at time.Time) {
	if at.After(u.lastActive) {
		u.lastActive = at
	}
	u.inactive = false
}

// active records that u used a product on tokens at at.
func (u *user) active(at time.Time, product string) {
	u.seen(at)
	d := day(at)
	if n := len(u.days); n == 0 || u.days[n-1] < d {
		u.days = append(u.days, d)
	} else if i, found := slices.BinarySearch(u.days, d); !found {
		u.days = slices.Insert(u.days, i, d)
	}
	if drop := slices.IndexFunc(u.days, func(x int64) bool { return x > d-historyDays }); drop > 0 {
		u.days = slices.Delete(u.days, 0, drop)
	}
	if product == "" {
		return
	}
	if u.productsDay != d {
		u.productsDay, u.products, u.multiFired = d, u.products[:0], false
	}
	if !slices.Contains(u.products, product) {
		u.products = append(u.products, product)
	}
}

// activeDaysSince counts the user's active days from day from on.
func (u *user) activeDaysSince(from int64) int {
	i, _ := slices.BinarySearch(u.days, from)
	return len(u.days) - i
}

// since is when the user was last seen: active, or else assigned.
func (u *user) since() time.Time {
	if u.lastActive.After(u.assignedAt) {
		return u.lastActive
	}
	return u.assignedAt
}

func sortedKeys[K interface{ ~string }, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
