package simulator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPlanIsOrderedBoundedAndVaried(t *testing.T) {
	cfg := Config{Users: 200, Teams: 5, Products: 4, Days: 14, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Seed: 7}
	plan, err := Plan(cfg)
	require.NoError(t, err)
	again, err := Plan(cfg)
	require.NoError(t, err)
	require.Equal(t, plan, again, "a seed gives the same plan")

	profiles := map[Profile]int{}
	launchDays := map[string]map[string]bool{}
	products := map[string]map[string]bool{} // user/day -> products
	overnight := false
	for i, a := range plan {
		if i > 0 {
			require.False(t, a.At.Before(plan[i-1].At), "time ordered")
		}
		require.True(t, a.At.Before(cfg.Start.AddDate(0, 0, cfg.Days+1)))
		if a.Kind != Launch {
			if a.Kind == Heartbeat && a.Active && a.Profile == Overnight && a.At.Hour() >= 7 && a.At.Hour() < 10 {
				overnight = true
			}
			continue
		}
		require.NotEqual(t, time.Saturday, a.At.Weekday())
		require.NotEqual(t, time.Sunday, a.At.Weekday())
		profiles[a.Profile]++
		day := a.At.Format(time.DateOnly)
		if launchDays[a.User] == nil {
			launchDays[a.User] = map[string]bool{}
		}
		launchDays[a.User][day] = true
		k := a.User + day
		if products[k] == nil {
			products[k] = map[string]bool{}
		}
		products[k][a.Product] = true
	}
	require.Len(t, profiles, 4, "every habit shows up")
	two := 0
	for _, p := range products {
		if len(p) == 2 {
			two++
		}
	}
	require.Positive(t, two, "some open two products a day")
	require.True(t, overnight, "some apps stay open overnight")
	var occasional, daily int
	for _, u := range People(cfg) {
		n := len(launchDays[u.ID])
		if u.Profile == Occasional {
			occasional += n
		} else if u.Profile == Daily {
			daily += n
		}
	}
	require.Less(t, occasional, daily, "occasional users launch on fewer days")

	capped, err := Plan(Config{Users: 200, Teams: 5, Products: 4, Days: 14, Start: cfg.Start, MaxEvents: 100})
	require.NoError(t, err)
	require.Len(t, capped, 100)
	_, err = Plan(Config{Users: MaxUsers + 1, Teams: 1, Products: 1, Days: 1})
	require.Error(t, err)
	require.Error(t, CheckLoopback("10.0.0.1:7070"))
	require.NoError(t, CheckLoopback("127.0.0.1:7070"))
}
