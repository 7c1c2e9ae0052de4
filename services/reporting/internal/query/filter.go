package query

import (
	"fmt"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// MaxTeams bounds the teams one report may name.
const MaxTeams = 1000

// DateLayout is how dates travel in requests and responses.
const DateLayout = "2006-01-02"

// Preset is a named date range relative to today (in the filter's zone).
type Preset int

// Presets, mirroring tokenmeter.v1.RangePreset.
const (
	PresetNone Preset = iota
	PresetThisMonth
	PresetLast3Months
	PresetLast6Months
	PresetLast9Months
	PresetLast12Months
)

// RangeSpec is a requested range: a preset, or explicit inclusive dates.
// Neither means the last 12 months.
type RangeSpec struct {
	Preset   Preset
	FromDate string
	ToDate   string
}

// Filter is a validated report scope.
type Filter struct {
	OrgID   string
	TeamIDs []string
	// From and To are dates in Zone (held as UTC midnights), both days included.
	From, To time.Time
	// Zone is the organisation's time zone, whose dates the range and every
	// by-day, week or month grouping are; nil is UTC.
	Zone *time.Location
}

// NewFilter validates a request's teams and range for the caller's org, in
// UTC; now is the current time. An error is an *InvalidError naming every
// bad field.
func NewFilter(orgID string, teamIDs []string, spec RangeSpec, now time.Time) (Filter, error) {
	return NewFilterIn(orgID, teamIDs, spec, now, time.UTC)
}

// NewFilterIn is NewFilter in the organisation's zone: now's date there
// anchors the presets, and the range is of dates there.
func NewFilterIn(orgID string, teamIDs []string, spec RangeSpec, now time.Time, zone *time.Location) (Filter, error) {
	inv := &InvalidError{}
	f := Filter{OrgID: orgID, Zone: zone}
	if orgID == "" {
		// The caller's principal always names an org; this is a bug guard.
		return Filter{}, fmt.Errorf("report without an organisation")
	}
	switch {
	case len(teamIDs) == 0:
		inv.add("team_ids", "at least one team id is required")
	case len(teamIDs) > MaxTeams:
		inv.add("team_ids", "at most %d team ids", MaxTeams)
	default:
		seen := make(map[string]bool, len(teamIDs))
		for i, id := range teamIDs {
			if !subject.ValidID(id) {
				inv.add(fmt.Sprintf("team_ids[%d]", i), "%s is not a team id: 1-64 letters, digits, '-' or '_', starting with a letter or digit", quote.Prefix(id))
				continue
			}
			if !seen[id] {
				seen[id] = true
				f.TeamIDs = append(f.TeamIDs, id)
			}
		}
	}
	f.From, f.To = resolveRange(spec, now.In(f.zone()), inv)
	if err := inv.orNil(); err != nil {
		return Filter{}, err
	}
	return f, nil
}

// resolveRange turns spec into inclusive dates (today is now's date in now's
// location), recording problems in inv.
//
// Presets end today. THIS_MONTH starts on the 1st of the current month;
// LAST_N_MONTHS starts the day after the same date N months ago (clamped to
// the month's length), so "last 3 months" on 15 May is 16 Feb – 15 May.
func resolveRange(spec RangeSpec, now time.Time, inv *InvalidError) (from, to time.Time) {
	today := dateOf(now)
	explicit := spec.FromDate != "" || spec.ToDate != ""
	if spec.Preset != PresetNone && explicit {
		inv.add("range", "give a preset or from_date/to_date, not both")
		return time.Time{}, time.Time{}
	}
	if explicit {
		return explicitRange(spec, today, inv)
	}
	switch spec.Preset {
	case PresetThisMonth:
		return time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC), today
	case PresetLast3Months:
		return monthsBack(today, 3), today
	case PresetLast6Months:
		return monthsBack(today, 6), today
	case PresetLast9Months:
		return monthsBack(today, 9), today
	case PresetNone, PresetLast12Months:
		return monthsBack(today, 12), today
	default:
		inv.add("range.preset", "unknown preset %d", spec.Preset)
		return time.Time{}, time.Time{}
	}
}

func explicitRange(spec RangeSpec, today time.Time, inv *InvalidError) (from, to time.Time) {
	n := len(inv.Violations)
	if spec.FromDate == "" {
		inv.add("range.from_date", "required when to_date is given")
	} else if d, err := time.Parse(DateLayout, spec.FromDate); err != nil {
		inv.add("range.from_date", "%s is not a YYYY-MM-DD date", quote.Prefix(spec.FromDate))
	} else {
		from = d
	}
	to = today
	if spec.ToDate != "" {
		d, err := time.Parse(DateLayout, spec.ToDate)
		if err != nil {
			inv.add("range.to_date", "%s is not a YYYY-MM-DD date", quote.Prefix(spec.ToDate))
		} else {
			to = d
		}
	}
	if len(inv.Violations) == n && from.After(to) {
		inv.add("range.from_date", "%s is after to_date %s", from.Format(DateLayout), to.Format(DateLayout))
	}
	return from, to
}

// monthsBack is the day after today's date n months earlier, clamped to the
// length of that month.
func monthsBack(today time.Time, n int) time.Time {
	first := time.Date(today.Year(), today.Month()-time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	day := min(today.Day(), last)
	return time.Date(first.Year(), first.Month(), day, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Months is the number of months the range spans, ended or not: the n ≥ 1
// such that From plus n-1 months is on or before To. "This month" and a
// calendar month are 1, "last 3 months" is 3, 1 Jan - 31 Mar is 3.
func (f Filter) Months() int {
	n := 1
	for !f.From.AddDate(0, n, 0).After(f.To) {
		n++
	}
	return n
}

// Days is the number of days of the range, both ends included.
func (f Filter) Days() int {
	return int(f.To.Sub(f.From).Hours()/24) + 1
}

// WithRange returns f over other dates.
func (f Filter) WithRange(from, to time.Time) Filter {
	f.From, f.To = from, to
	return f
}

// DaysSince is the whole days from day to the end of f, or to today (now's
// date in f's zone) when f ends later: 0 for a day that is the end. A Date
// column decodes as midnight in its own zone, so only day's calendar date counts.
func (f Filter) DaysSince(day, now time.Time) int64 {
	end := min(f.To.Unix(), f.Today(now).Unix())
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	return max(0, (end-d.Unix())/86400)
}

// Today is now's date in f's zone, as a UTC midnight like From and To.
func (f Filter) Today(now time.Time) time.Time {
	return dateOf(now.In(f.zone()))
}

func (f Filter) zone() *time.Location {
	if f.Zone == nil {
		return time.UTC
	}
	return f.Zone
}
