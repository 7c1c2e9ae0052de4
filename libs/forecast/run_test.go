package forecast

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Model.RunOut is Compute's run-out without plans, RunOutBefore finds it
// when it is before until, and in both a pack holding less by under its Left
// runs out on the same day (callers keep a run on that).
func TestRunLeftKeepsTheRunOut(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 15, 9, 0, 0, 0, time.UTC)
	year := seasonalYear(d("2025-07-01"), d("2026-07-14"))
	today := Today(now, nil)
	m := ModelOf(year, today)
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for range 200 {
		packs := make([]Pack, 1+rng.IntN(4))
		for i := range packs {
			packs[i] = Pack{Remaining: 1 + rng.Int64N(3000), ExpiresAt: today.AddDate(0, 0, 1+rng.IntN(500)).Add(9 * time.Hour)}
		}
		run := m.RunOut(today, packs)
		r := Compute(Input{Now: now, Daily: year, Packs: packs, TermStart: d("2026-01-01")})
		require.Equal(t, r.RunOutWithoutPlans, run.RunOut)
		require.Equal(t, r.ExpiringWithoutPlans, run.Lost)
		until := today.AddDate(0, 0, rng.IntN(400)).Add(time.Duration(rng.IntN(24)) * time.Hour)
		before := m.RunOutBefore(today, packs, until)
		if !run.RunOut.IsZero() && run.RunOut.Before(until) {
			require.Equal(t, run.RunOut, before.RunOut)
		} else {
			require.Zero(t, before.RunOut, "run-out %s is not before %s", run.RunOut, until)
		}
		for _, r := range []struct {
			run  Run
			runs func([]Pack) Run
		}{
			{run, func(ps []Pack) Run { return m.RunOut(today, ps) }},
			{before, func(ps []Pack) Run { return m.RunOutBefore(today, ps, until) }},
		} {
			for i, p := range packs {
				if r.run.Left[i] < 2 {
					continue
				}
				less := append([]Pack(nil), packs...)
				less[i].Remaining = p.Remaining - int64(r.run.Left[i]-1)
				require.Equal(t, r.run.RunOut, r.runs(less).RunOut, "pack %d of %v", i, packs)
				checked++
			}
		}
	}
	require.Greater(t, checked, 100)
}
