package rules

import (
	"slices"

	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// WithSettings returns base with the fields s sets laid over it. A repeated
// field that s sets (non-empty) replaces base's list. The result is not
// validated: call Validate.
func WithSettings(base Config, s *v1.AlertRules) Config {
	c := base
	c.UsageTiers.Percents = slices.Clone(base.UsageTiers.Percents)
	c.PackExpiry.Days = slices.Clone(base.PackExpiry.Days)
	if s == nil {
		return c
	}
	set(&c.LowBalance.Enabled, nz(s.GetLowBalance()).Enabled)
	set(&c.LowBalance.Percent, nz(s.GetLowBalance()).Percent)
	set(&c.UsageTiers.Enabled, nz(s.GetUsageTiers()).Enabled)
	if p := nz(s.GetUsageTiers()).GetPercents(); len(p) > 0 {
		c.UsageTiers.Percents = slices.Clone(p)
	}
	f := nz(s.GetForecast())
	set(&c.Forecast.Enabled, f.Enabled)
	setInt(&c.Forecast.WithinDays, f.WithinDays)
	set(&c.Forecast.BeforeTermEnd, f.BeforeTermEnd)
	setInt(&c.Forecast.TrailingDays, f.TrailingDays)
	setInt(&c.Forecast.MinHistoryDays, f.MinHistoryDays)
	set(&c.BurnPace.Enabled, nz(s.GetBurnPace()).Enabled)
	set(&c.BurnPace.Percent, nz(s.GetBurnPace()).Percent)
	set(&c.PackExpiry.Enabled, nz(s.GetPackExpiry()).Enabled)
	if d := nz(s.GetPackExpiry()).GetDays(); len(d) > 0 {
		c.PackExpiry.Days = make([]int, len(d))
		for i, v := range d {
			c.PackExpiry.Days[i] = int(v)
		}
	}
	sp := nz(s.GetSpike())
	set(&c.Spike.Enabled, sp.Enabled)
	set(&c.Spike.DailyLimit, sp.DailyLimitTokens)
	set(&c.Spike.Factor, sp.Factor)
	setInt(&c.Spike.TrailingDays, sp.TrailingDays)
	setInt(&c.Spike.MinHistoryDays, sp.MinHistoryDays)
	set(&c.HeavyUser.Enabled, nz(s.GetHeavyUser()).Enabled)
	setInt(&c.HeavyUser.DaysPerYear, nz(s.GetHeavyUser()).DaysPerYear)
	set(&c.HeavyUser.DaysPerWeek, nz(s.GetHeavyUser()).DaysPerWeek)
	set(&c.MultiProduct.Enabled, nz(s.GetMultiProduct()).Enabled)
	setInt(&c.MultiProduct.ProductsPerDay, nz(s.GetMultiProduct()).ProductsPerDay)
	set(&c.LongSession.Enabled, nz(s.GetLongSession()).Enabled)
	set(&c.LongSession.Hours, nz(s.GetLongSession()).Hours)
	set(&c.SessionRenewed.Enabled, nz(s.GetSessionRenewed()).Enabled)
	set(&c.InactiveUser.Enabled, nz(s.GetInactiveUser()).Enabled)
	setInt(&c.InactiveUser.Days, nz(s.GetInactiveUser()).Days)
	set(&c.LaunchDenied.Enabled, nz(s.GetLaunchDenied()).Enabled)
	set(&c.BudgetCrossed.Enabled, nz(s.GetBudgetCrossed()).Enabled)
	set(&c.Capacity.Enabled, nz(s.GetCapacity()).Enabled)
	set(&c.Capacity.Percent, nz(s.GetCapacity()).Percent)
	return c
}

// nz is m, or an empty message when m is nil, so its fields read as unset.
func nz[T any](m *T) *T {
	if m == nil {
		return new(T)
	}
	return m
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func setInt(dst *int, v *int32) {
	if v != nil {
		*dst = int(*v)
	}
}

// Proto returns c as settings with every field set.
func (c Config) Proto() *v1.AlertRules {
	days := make([]int32, len(c.PackExpiry.Days))
	for i, d := range c.PackExpiry.Days {
		days[i] = int32(d)
	}
	i32 := func(n int) *int32 { return proto.Int32(int32(n)) }
	return &v1.AlertRules{
		LowBalance: &v1.LowBalanceRule{Enabled: &c.LowBalance.Enabled, Percent: &c.LowBalance.Percent},
		UsageTiers: &v1.UsageTiersRule{Enabled: &c.UsageTiers.Enabled, Percents: slices.Clone(c.UsageTiers.Percents)},
		Forecast: &v1.ForecastRule{Enabled: &c.Forecast.Enabled, WithinDays: i32(c.Forecast.WithinDays),
			BeforeTermEnd: &c.Forecast.BeforeTermEnd, TrailingDays: i32(c.Forecast.TrailingDays),
			MinHistoryDays: i32(c.Forecast.MinHistoryDays)},
		BurnPace:   &v1.BurnPaceRule{Enabled: &c.BurnPace.Enabled, Percent: &c.BurnPace.Percent},
		PackExpiry: &v1.PackExpiryRule{Enabled: &c.PackExpiry.Enabled, Days: days},
		Spike: &v1.SpikeRule{Enabled: &c.Spike.Enabled, DailyLimitTokens: &c.Spike.DailyLimit, Factor: &c.Spike.Factor,
			TrailingDays: i32(c.Spike.TrailingDays), MinHistoryDays: i32(c.Spike.MinHistoryDays)},
		HeavyUser:      &v1.HeavyUserRule{Enabled: &c.HeavyUser.Enabled, DaysPerYear: i32(c.HeavyUser.DaysPerYear), DaysPerWeek: &c.HeavyUser.DaysPerWeek},
		MultiProduct:   &v1.MultiProductRule{Enabled: &c.MultiProduct.Enabled, ProductsPerDay: i32(c.MultiProduct.ProductsPerDay)},
		LongSession:    &v1.LongSessionRule{Enabled: &c.LongSession.Enabled, Hours: &c.LongSession.Hours},
		SessionRenewed: &v1.RuleSwitch{Enabled: &c.SessionRenewed.Enabled},
		InactiveUser:   &v1.InactiveUserRule{Enabled: &c.InactiveUser.Enabled, Days: i32(c.InactiveUser.Days)},
		LaunchDenied:   &v1.RuleSwitch{Enabled: &c.LaunchDenied.Enabled},
		BudgetCrossed:  &v1.RuleSwitch{Enabled: &c.BudgetCrossed.Enabled},
		Capacity:       &v1.CapacityRule{Enabled: &c.Capacity.Enabled, Percent: &c.Capacity.Percent},
	}
}
