package rules_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

const day = 24 * time.Hour

func TestUsageTiers(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) {
		c.UsageTiers.Enabled = true
		c.LowBalance.Enabled = false
		c.BurnPace.Enabled = false
	})
	var got []*v1.Alert
	got = append(got, f.pack("p1", 1000, 365*day)...)
	got = append(got, f.charge("ann", "RVT", 240)...) // 24 %
	got = append(got, f.charge("ann", "RVT", 10)...)  // 25 %: tier 25
	got = append(got, f.charge("ann", "RVT", 100)...) // 35 %
	got = append(got, f.charge("ann", "RVT", 550)...) // 90 %: 50 and 75 at once, only 75 raised
	got = append(got, f.pack("p2", 1000, 365*day)...) // 45 % of 2000: 50 and 75 re-arm
	got = append(got, f.charge("ann", "RVT", 200)...) // 55 %: 50 again
	tiers := only(rules.KindUsageTier, got)
	require.Len(t, tiers, 3)
	var seen []float64
	for _, a := range tiers {
		seen = append(seen, a.GetFigures()["tier"])
	}
	require.Equal(t, []float64{25, 75, 50}, seen)
	require.Equal(t, "usage_tier.acme.design.3.25", tiers[0].GetAlertId())
	require.Equal(t, "Team design has used 90 % of its 1000 live tokens (tier 75 %); 100 left", tiers[1].GetMessage())
	require.Equal(t, v1.Severity_SEVERITY_WARNING, tiers[1].GetSeverity())
}

func TestUsageTiersOffByDefault(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	f.pack("p1", 1000, 365*day)
	require.Empty(t, only(rules.KindUsageTier, f.charge("ann", "RVT", 600)))
}

func TestForecastRunOut(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) { c.Forecast.BeforeTermEnd = false })
	f.pack("p1", 2000, 365*day)
	var raised []*v1.Alert
	for i := 0; len(raised) == 0 && i < 40; i++ {
		f.advance(day)
		raised = only(rules.KindForecastRunOut, f.charge("ann", "RVT", 30))
		if len(raised) > 0 {
			// The forecast's level is the 30-day rate: i/30 of 30 a day until a month has passed.
			require.Equal(t, 35, i, "fires when 920 tokens at 30 a day last 30 days")
		}
		require.Empty(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 0)), "once per crossing")
	}
	require.Len(t, raised, 1)
	require.Equal(t, "Team design has 920 tokens left (46 %); at 30 tokens a day they run out on 2026-05-07, before the term ends on 2027-03-02",
		raised[0].GetMessage())
	require.InDelta(t, 30, raised[0].GetFigures()["daily_rate"], 0.01)
	require.InDelta(t, 30, raised[0].GetFigures()["days_left"], 0)
	// Tokens bought: the forecast stops holding (re-arm); spending them makes it hold again.
	require.Empty(t, only(rules.KindForecastRunOut, f.pack("p2", 100, 365*day)), "1,020 tokens last 34 days")
	require.Empty(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 30)))
	require.Len(t, only(rules.KindForecastRunOut, f.charge("ann", "RVT", 90)), 1, "900 tokens last 30 days")
}

func TestForecastBeforeTermEnd(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	f.pack("p1", 3000, 200*day)
	var raised []*v1.Alert
	for i := range 20 {
		got := only(rules.KindForecastRunOut, f.charge("ann", "RVT", 30))
		if len(got) > 0 {
			require.Equal(t, 14, i, "2,550 tokens at the 30-day rate of 14 a day last 182 days, the term ends in 186")
		}
		raised = append(raised, got...)
		f.advance(day)
	}
	require.Len(t, raised, 1)
	require.Contains(t, raised[0].GetMessage(), "before the term ends on 2026-09-18")
}

func TestBurnPace(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) { c.LowBalance.Enabled = false })
	f.pack("p1", 100, 365*day)
	f.advance(10 * day)
	require.Empty(t, only(rules.KindBurnPace, f.charge("ann", "RVT", 69)))
	got := only(rules.KindBurnPace, f.charge("ann", "RVT", 1))
	require.Len(t, got, 1, "70 % used before mid-term")
	require.Equal(t, "Team design has used 70 % of its 100 live tokens before mid-term (2026-08-31); plan a true-up before the term ends on 2027-03-02", got[0].GetMessage())
	require.Empty(t, only(rules.KindBurnPace, f.charge("ann", "RVT", 5)), "once")
	f.pack("p2", 1000, 365*day) // re-arms
	f.advance(200 * day)
	f.avail = 300
	require.Empty(t, only(rules.KindBurnPace, f.charge("ann", "RVT", 100)), "past mid-term is no longer early")
}

func TestPackExpiring(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	f.pack("p1", 500, 100*day)
	type step struct {
		after time.Duration
		want  []float64 // within_days of the alerts raised
	}
	var got [][]float64
	for _, s := range []step{{5 * day, nil}, {5*day + time.Hour, []float64{90}}, {10 * day, nil}, {61 * day, []float64{30}}, {12 * day, []float64{7}}, {3 * day, nil}, {10 * day, nil}} {
		f.advance(s.after)
		var w []float64
		for _, a := range f.tick() {
			require.Equal(t, rules.KindPackExpiring, a.GetKind())
			w = append(w, a.GetFigures()["within_days"])
		}
		require.Equal(t, s.want, w, "at %s", f.now)
		got = append(got, w)
	}
	require.Len(t, got, 7)

	// A pack bought with 20 days left warns at once at 30, and not at 90.
	g := newFeed(t, nil)
	raised := only(rules.KindPackExpiring, g.pack("p1", 100, 20*day))
	require.Len(t, raised, 1)
	require.Equal(t, "pack_expiring.acme.design.1.p1.30", raised[0].GetAlertId())
	require.Equal(t, "Pack p1 of team design expires on 2026-03-22 (in 20 days) with 100 unused tokens at risk", raised[0].GetMessage())
	require.Equal(t, v1.Severity_SEVERITY_WARNING, raised[0].GetSeverity())
	require.InDelta(t, 100, raised[0].GetFigures()["tokens_at_risk"], 0)

	// A used-up pack puts nothing at risk.
	h := newFeed(t, func(c *rules.Config) { c.LowBalance.Enabled = false; c.BurnPace.Enabled = false })
	h.pack("p1", 100, 60*day)
	h.charge("ann", "RVT", 100)
	require.Empty(t, h.tick())
}

func TestTimeRulesRunAsEventTimeAdvances(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	f.pack("p1", 500, 95*day)
	// Another team's event six days later evaluates design's packs too.
	f.advance(6 * day)
	f.seq++
	ev := &v1.Event{OrgId: "acme", TeamId: "build"}
	ev.ServerTime = timestampOf(f.now)
	ev.Payload = &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{UserId: "bob", ProductCode: "RVT"}}
	got := f.r.Apply(f.seq, ev)
	require.Equal(t, []string{rules.KindPackExpiring}, kinds(got))
	require.Equal(t, "design", got[0].GetTeamId())
}

func TestLowBalanceNamesTheRunOutDate(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) { c.Forecast.Enabled = false; c.BurnPace.Enabled = false })
	f.pack("p1", 1000, 365*day)
	for range 7 {
		f.charge("ann", "RVT", 42)
		f.advance(day)
	}
	got := only(rules.KindLowBalance, f.charge("ann", "RVT", 526))
	require.Len(t, got, 1)
	// The forecast's level: 294 tokens over the 30 days before today.
	require.Equal(t, "Team design has 180 tokens left (18 %) of 1000 live; at 9.8 tokens a day they run out on 2026-03-27", got[0].GetMessage())
}

func TestBudgetCrossed(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	soft := f.event(func(ev *v1.Event) {
		ev.Payload = &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{BudgetId: "ann-monthly", PeriodStart: "2026-03-01", Spent: 110, LimitTokens: 100, UserId: "ann"}}
	})
	require.Len(t, soft, 1)
	require.Equal(t, v1.Severity_SEVERITY_WARNING, soft[0].GetSeverity())
	require.Equal(t, "budget_crossed.acme.design.1.ann-monthly.2026-03-01", soft[0].GetAlertId())
	require.Equal(t, "Budget ann-monthly of team design for ann crossed its soft cap: 110 of 100 tokens spent in the period from 2026-03-01", soft[0].GetMessage())
	hard := f.event(func(ev *v1.Event) {
		ev.Payload = &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{BudgetId: "cad", PeriodStart: "2026-03-01", Spent: 500, LimitTokens: 500, Hard: true}}
	})
	require.Equal(t, v1.Severity_SEVERITY_CRITICAL, hard[0].GetSeverity())

	off := newFeed(t, func(c *rules.Config) { c.BudgetCrossed.Enabled = false })
	require.Empty(t, off.event(func(ev *v1.Event) {
		ev.Payload = &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{BudgetId: "x", Spent: 1, LimitTokens: 1}}
	}))
}

func TestCapacityLow(t *testing.T) {
	t.Parallel()
	r, err := rules.New(rules.Defaults())
	require.NoError(t, err)
	var fired []float64
	for i, avail := range []int64{100, 30, 20, 10, 50, 15, 0} {
		for _, a := range r.ApplyCapacity(uint64(i+1), rules.CapacityReading{Org: "acme", Team: "design", ProductCode: "API",
			Kind: rules.CapacityExhaustible, Available: avail, Total: 100, At: t0}) {
			fired = append(fired, a.GetFigures()["available"])
		}
	}
	require.Equal(t, []float64{20, 15}, fired, "at or below 20 %, once per crossing")
}

func TestDisabledRuleStaysQuiet(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) { c.LowBalance.Enabled = false })
	f.pack("p1", 1000, 365*day)
	require.Empty(t, only(rules.KindLowBalance, f.charge("ann", "RVT", 900)))
	defaults := rules.Defaults()
	f.r.SetTeamConfig("acme", "design", &defaults) // the team's own rules: still below, fires now
	require.Len(t, only(rules.KindLowBalance, f.charge("ann", "RVT", 1)), 1)
}

// The ledger's capacity events feed the capacity rule through Apply.
func TestCapacityEventsFeedTheRule(t *testing.T) {
	t.Parallel()
	r, err := rules.New(rules.Defaults())
	require.NoError(t, err)
	ev := func(seq uint64, payload any) []*v1.Alert {
		e := &v1.Event{EventId: fmt.Sprintf("c-%d", seq), OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(t0)}
		switch p := payload.(type) {
		case *v1.CapacitySet:
			e.Payload = &v1.Event_CapacitySet{CapacitySet: p}
		case *v1.CapacityUsed:
			e.Payload = &v1.Event_CapacityUsed{CapacityUsed: p}
		case *v1.CapacityReturned:
			e.Payload = &v1.Event_CapacityReturned{CapacityReturned: p}
		}
		return only(rules.KindCapacityLow, r.Apply(seq, e))
	}
	require.Empty(t, ev(1, &v1.CapacitySet{ProductCode: "SEATS", Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: 5,
		Capacity: &v1.CapacityFigures{Total: 5, Available: 5}}))
	low := ev(2, &v1.CapacityUsed{ProductCode: "SEATS", Units: 4, CheckoutId: "c-2", Capacity: &v1.CapacityFigures{Total: 5, Available: 1}})
	require.Len(t, low, 1, "1 of 5 seats left: at or below 20 %")
	require.Empty(t, ev(3, &v1.CapacityReturned{ProductCode: "SEATS", CheckoutId: "c-2", Units: 4, Capacity: &v1.CapacityFigures{Total: 5, Available: 5}}))
	require.Len(t, ev(4, &v1.CapacityUsed{ProductCode: "SEATS", Units: 5, CheckoutId: "c-4", Capacity: &v1.CapacityFigures{Total: 5, Available: 0}}), 1, "re-armed, fires again")
}
