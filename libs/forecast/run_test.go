package forecast

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Model.RunOut is Compute's run-out without plans, and a pack holding less
// by under its Left runs out on the same day (callers keep a run on that).
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
		for i, p := range packs {
			if run.Left[i] < 2 {
				continue
			}
			less := append([]Pack(nil), packs...)
			less[i].Remaining = p.Remaining - int64(run.Left[i]-1)
			require.Equal(t, run.RunOut, m.RunOut(today, less).RunOut, "pack %d of %v", i, packs)
			checked++
		}
	}
	require.Positive(t, checked)
}
