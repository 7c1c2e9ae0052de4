package tokenctl

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tokenmeter/tokenmeter/tools/demo"
)

// demoPlan is the demo history to load: for each team, users working on
// weekdays over weeks ending the day before until, each opening one product
// in the morning (sometimes a second one, sometimes again after lunch, free
// inside the window). The same plan always yields the same launches with the
// same event ids, so sending it again charges nothing twice.
type demoPlan struct {
	Until string   `json:"until"`
	Weeks int      `json:"weeks"`
	Teams []string `json:"teams"`
	Users int      `json:"users"`
	Seed  uint64   `json:"seed"`
}

// demoLaunch is one launch of the plan.
type demoLaunch struct {
	id, team, user, product string
	at                      time.Time
	project                 string
}

func (p demoPlan) validate() error {
	if _, err := time.Parse(time.DateOnly, p.Until); err != nil {
		return fmt.Errorf("invalid --until %q: want a date such as 2026-03-31", p.Until)
	}
	if p.Weeks < 1 || p.Weeks > 52 {
		return fmt.Errorf("invalid --weeks %d: want 1 to 52 (packs last 12 months)", p.Weeks)
	}
	if p.Users < 1 || p.Users > 500 {
		return fmt.Errorf("invalid --users %d: want 1 to 500 per team", p.Users)
	}
	if len(p.Teams) == 0 {
		return fmt.Errorf("name the teams to load with --teams")
	}
	return nil
}

// start is the first day of the history (midnight UTC).
func (p demoPlan) start() time.Time {
	until, _ := time.Parse(time.DateOnly, p.Until)
	return until.AddDate(0, 0, -7*p.Weeks)
}

func (p demoPlan) userID(team string, i int) string { return fmt.Sprintf("%s-u%02d", team, i+1) }

// launches are the plan's launches in time order. A team's launches depend
// on its position in Teams, not on its name: two teams at the same position
// of two plans get the same history.
func (p demoPlan) launches() []demoLaunch {
	start, end := p.start(), p.start().AddDate(0, 0, 7*p.Weeks)
	var out []demoLaunch
	for ti, team := range p.Teams {
		rng := rand.New(rand.NewPCG(p.Seed, uint64(ti)))
		for day, d := start, 0; day.Before(end); day, d = day.AddDate(0, 0, 1), d+1 {
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			for ui := range p.Users {
				if rng.IntN(10) < 3 { // an occasional user stays away
					continue
				}
				products := []string{demo.Products[(ui+d)%len(demo.Products)].Code}
				if rng.IntN(4) == 0 {
					products = append(products, demo.Products[rng.IntN(len(demo.Products))].Code)
				}
				for pi, code := range slices.Compact(products) {
					at := day.Add(8*time.Hour + time.Duration(pi*150+rng.IntN(120))*time.Minute)
					for i := range 1 + rng.IntN(2) {
						user := p.userID(team, ui)
						out = append(out, demoLaunch{
							id:   fmt.Sprintf("demo-%s-%s-%s-%s-%d", team, user, code, day.Format("20060102"), i),
							team: team, user: user, product: code, at: at.Add(time.Duration(i) * 4 * time.Hour),
							project: fmt.Sprintf("P-%d", 100+ui%3),
						})
					}
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b demoLaunch) int { return a.at.Compare(b.at) })
	return out
}

// packTokens is a team's pack: what its launches could cost at most, with
// a tenth more, in hundreds.
func (p demoPlan) packTokens(launches []demoLaunch, team string) int64 {
	rate := map[string]int64{}
	for _, pr := range demo.Products {
		rate[pr.Code] = pr.Rate
	}
	var n int64
	for _, l := range launches {
		if l.team == team {
			n += rate[l.product]
		}
	}
	return (n*11/10/100 + 1) * 100
}
