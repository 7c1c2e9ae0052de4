package rules

import (
	"time"

	"github.com/tokenmeter/tokenmeter/libs/forecast"
)

// outlook is a team's forecast model as of one day and its last run-out
// simulation. The model reads only the days before it, so it is built once a
// day (again after a late charge); the simulation is run again only when the
// packs changed in a way that could move the run-out (outlook.still).
type outlook struct {
	day   int64
	model forecast.Model
	ok    bool
	// run simulated the packs ids as they held remaining and expired then,
	// up to until (zero: the forecast's horizon).
	run       forecast.Run
	ran       bool
	until     time.Time
	ids       []string
	remaining []int64
	expires   []time.Time
}

// runOut is the console's forecast without plans (libs/forecast) for the
// team's live packs from today, a day number of the organisation's dates:
// the first day the pool cannot pay a day's projected use, zero when none
// before until (zero: the forecast's horizon).
func (t *team) runOut(today int64, until time.Time) (time.Time, forecast.Model) {
	m, o := t.model(today), &t.outlook
	if o.holds(today, until) && o.still(t.packs) {
		return o.run.RunOut, m
	}
	o.ids = sortedKeys(t.packs)
	o.remaining, o.expires = o.remaining[:0], o.expires[:0]
	packs := make([]forecast.Pack, len(o.ids))
	for i, id := range o.ids {
		p := t.packs[id]
		packs[i] = forecast.Pack{Remaining: p.remaining, ExpiresAt: p.expires}
		o.remaining, o.expires = append(o.remaining, p.remaining), append(o.expires, p.expires)
	}
	o.ran, o.until = true, until
	if until.IsZero() {
		o.run = m.RunOut(dayTime(today), packs)
	} else {
		o.run = m.RunOutBefore(dayTime(today), packs, until)
	}
	return o.run.RunOut, m
}

// holds reports whether the last simulation was of today's model up to until.
func (o *outlook) holds(today int64, until time.Time) bool {
	return o.ok && o.ran && o.day == today && o.until.Equal(until)
}

// still reports whether the last simulation holds for packs: the same packs
// and expiries, each holding what it did or less by under what it still
// held when it left the simulation (forecast.Run.Left).
func (o *outlook) still(packs map[string]*pack) bool {
	if len(packs) != len(o.ids) {
		return false
	}
	for i, id := range o.ids {
		p := packs[id]
		if p == nil || !p.expires.Equal(o.expires[i]) {
			return false
		}
		if d := o.remaining[i] - p.remaining; d < 0 || (d > 0 && float64(d) >= o.run.Left[i]-1e-6) {
			return false
		}
	}
	return true
}

// model is the forecast's model as of today, built from the daily totals
// the forecast reads (forecast.HistoryFrom on; days after today, which a
// late event leaves, change no figure of the model).
func (t *team) model(today int64) forecast.Model {
	if t.outlook.ok && t.outlook.day == today {
		return t.outlook.model
	}
	t.prune(today)
	t.outlook = outlook{day: today, model: forecast.ModelOf(t.usage, dayTime(today)), ok: true}
	return t.outlook.model
}

// dayIn is the day number of at's date in zone (nil: UTC).
func dayIn(at time.Time, zone *time.Location) int64 { return dayNumber(forecast.Today(at, zone)) }

// dayNumber is the day number of a UTC midnight; dayTime the reverse.
func dayNumber(midnight time.Time) int64 { return midnight.Unix() / 86400 }

func dayTime(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// maxZoneLen bounds a zone name, as the ledger does when it records one.
const maxZoneLen = 64

// zoneOf is an organisation's time zone by its IANA name; a name this
// binary does not know leaves it in UTC (nil), as reporting does.
func zoneOf(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > maxZoneLen {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}
