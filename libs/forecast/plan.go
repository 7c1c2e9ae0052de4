package forecast

import (
	"math"
	"time"
)

// day steps through dates: they are UTC midnights, so a day is 24 hours.
const oneDay = 24 * time.Hour

// ProductRate is one product of a plan and its daily rate in tokens.
type ProductRate struct {
	Code string
	Rate int64
}

// Plan is a planned project: Users people each using every one of Products
// on DaysPerWeek days of each week (Monday to Friday first, then the
// weekend), or on Days days in all, from Start to End (dates, inclusive).
// Exactly one of DaysPerWeek and Days is set.
type Plan struct {
	ID, Name    string
	Users       int64
	DaysPerWeek int
	Days        int64
	Products    []ProductRate
	Start, End  time.Time
}

// Estimate is the Flex Estimator's answer for a plan.
type Estimate struct {
	// DaysPerUser is each user's days of use, whole days since a launch
	// costs a whole day.
	DaysPerUser int64
	// UserDays is Users × DaysPerUser.
	UserDays int64
	// Tokens is UserDays × the sum of the products' rates; PerProduct splits
	// it by product (same order as the plan's).
	Tokens     int64
	PerProduct []int64
}

// Estimate answers "how many tokens for this plan": users × days × the
// products' daily rates.
func (p Plan) Estimate() Estimate {
	e := Estimate{DaysPerUser: int64(math.Ceil(p.shareSum() - 1e-9))}
	e.UserDays = p.Users * e.DaysPerUser
	for _, pr := range p.Products {
		t := e.UserDays * pr.Rate
		e.PerProduct = append(e.PerProduct, t)
		e.Tokens += t
	}
	return e
}

// Demand is the plan's tokens by day: its estimate spread over the plan's
// days in proportion to each day's share, so the days sum to the estimate.
func (p Plan) Demand() func(time.Time) float64 {
	sum := p.shareSum()
	if sum <= 0 {
		return func(time.Time) float64 { return 0 }
	}
	perShare := float64(p.Estimate().Tokens) / sum
	workdays, weekend := p.dayCounts()
	return func(day time.Time) float64 { return perShare * p.shareOf(day, workdays, weekend) }
}

// TokensFrom is what the plan still needs from day on (rounded).
func (p Plan) TokensFrom(day time.Time) int64 {
	demand := p.Demand()
	var t float64
	for d := maxTime(dayOf(day), p.Start); !d.After(p.End); d = d.Add(oneDay) {
		t += demand(d)
	}
	return int64(math.Round(t))
}

// PlansDemand is the demand of all plans by day.
func PlansDemand(plans []Plan) func(time.Time) float64 {
	fs := make([]func(time.Time) float64, len(plans))
	for i, p := range plans {
		fs[i] = p.Demand()
	}
	return func(day time.Time) float64 {
		var t float64
		for _, f := range fs {
			t += f(day)
		}
		return t
	}
}

// plansSeries is PlansDemand tabulated for the n days from from (each plan
// walks only its own days), so a simulation over years of days with many
// plans looks each day up once; days outside are computed.
func plansSeries(plans []Plan, from time.Time, n int) func(time.Time) float64 {
	vals := make([]float64, n)
	for _, p := range plans {
		demand := p.Demand()
		for d := maxTime(p.Start, from); !d.After(p.End); d = d.Add(oneDay) {
			i := int(d.Sub(from) / (24 * time.Hour))
			if i >= n {
				break
			}
			vals[i] += demand(d)
		}
	}
	direct := PlansDemand(plans)
	return func(day time.Time) float64 {
		off := day.Sub(from)
		if i := int(off / (24 * time.Hour)); off >= 0 && off%(24*time.Hour) == 0 && i < n {
			return vals[i]
		}
		return direct(day)
	}
}

// shareOf is the part of day each user works on the plan, 0 to 1, given
// the plan's counts of workdays and weekend days.
func (p Plan) shareOf(day time.Time, workdays, weekend int64) float64 {
	if day.Before(p.Start) || day.After(p.End) {
		return 0
	}
	workday := weekday(day) < 5
	if p.DaysPerWeek > 0 {
		if workday {
			return float64(min(p.DaysPerWeek, 5)) / 5
		}
		return float64(max(p.DaysPerWeek-5, 0)) / 2
	}
	switch {
	case p.Days <= workdays:
		if workday {
			return float64(p.Days) / float64(workdays)
		}
		return 0
	case workday:
		return 1
	default:
		return math.Min(1, float64(p.Days-workdays)/float64(weekend))
	}
}

// shareSum is each user's days over the whole plan.
func (p Plan) shareSum() float64 {
	if p.Days > 0 {
		return math.Min(float64(p.Days), float64(p.CalendarDays()))
	}
	workdays, weekend := p.dayCounts()
	var s float64
	for d := p.Start; !d.After(p.End); d = d.Add(oneDay) {
		s += p.shareOf(d, workdays, weekend)
	}
	return s
}

// CalendarDays is the plan's length in days, 0 when it ends before it starts.
func (p Plan) CalendarDays() int64 {
	if p.End.Before(p.Start) {
		return 0
	}
	return int64(math.Round(p.End.Sub(p.Start).Hours()/24)) + 1
}

// dayCounts counts the plan's Monday-to-Friday days and weekend days.
func (p Plan) dayCounts() (workdays, weekend int64) {
	n := p.CalendarDays()
	workdays = n / 7 * 5
	first := weekday(p.Start)
	for i := range n % 7 {
		if (first+int(i))%7 < 5 {
			workdays++
		}
	}
	return workdays, n - workdays
}
