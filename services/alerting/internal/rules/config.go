package rules

import (
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidConfig is returned for settings no rule can work with.
var ErrInvalidConfig = errors.New("invalid rules config")

// Config holds the settings of every rule for one team. Defaults returns the
// service's defaults; a team's stored settings override them (settings.go).
type Config struct {
	LowBalance     LowBalance
	UsageTiers     UsageTiers
	Forecast       Forecast
	BurnPace       BurnPace
	PackExpiry     PackExpiry
	Spike          Spike
	HeavyUser      HeavyUser
	MultiProduct   MultiProduct
	LongSession    LongSession
	SessionRenewed Switch
	InactiveUser   InactiveUser
	LaunchDenied   Switch
	BudgetCrossed  Switch
	Capacity       Capacity
}

// Switch is a rule with no setting but on or off.
type Switch struct{ Enabled bool }

// LowBalance: available at or below Percent of live tokens.
type LowBalance struct {
	Enabled bool
	Percent float64
}

// UsageTiers: the used share of live tokens reaching each of Percents.
type UsageTiers struct {
	Enabled  bool
	Percents []float64
}

// Forecast: the console's forecast without plans (libs/forecast) runs the
// pool out within WithinDays, or (BeforeTermEnd) before its last live pack
// expires.
type Forecast struct {
	Enabled       bool
	WithinDays    int
	BeforeTermEnd bool
	// TrailingDays and MinHistoryDays are deprecated and read by no rule:
	// the forecast's own 30- and 90-day rates replaced them. Kept so that
	// stored settings and old clients still parse and round-trip.
	TrailingDays   int
	MinHistoryDays int
}

// BurnPace: Percent of the term's tokens used before mid-term.
type BurnPace struct {
	Enabled bool
	Percent float64
}

// PackExpiry: a pack with unused tokens expiring within each of Days.
type PackExpiry struct {
	Enabled bool
	Days    []int
}

// Spike: a day's usage over DailyLimit tokens (0: no limit) or over Factor
// times the trailing daily mean.
type Spike struct {
	Enabled        bool
	DailyLimit     int64
	Factor         float64
	TrailingDays   int
	MinHistoryDays int
}

// HeavyUser: a user active more than DaysPerYear days in the trailing 365, or
// more than DaysPerWeek days a week on average over the trailing four weeks.
type HeavyUser struct {
	Enabled     bool
	DaysPerYear int
	DaysPerWeek float64
}

// MultiProduct: a user opening ProductsPerDay products or more on one day.
type MultiProduct struct {
	Enabled        bool
	ProductsPerDay int
}

// LongSession: a session open longer than Hours.
type LongSession struct {
	Enabled bool
	Hours   float64
}

// InactiveUser: an assigned user with no launch for Days.
type InactiveUser struct {
	Enabled bool
	Days    int
}

// Capacity: capacity available at or below Percent of its total.
type Capacity struct {
	Enabled bool
	Percent float64
}

// Defaults are the rules every team gets unless its settings say otherwise.
// Usage tiers and several-products-a-day are off by default: they describe
// ordinary use and would drown the alerts that need someone to act.
func Defaults() Config {
	return Config{
		LowBalance:     LowBalance{Enabled: true, Percent: 20},
		UsageTiers:     UsageTiers{Enabled: false, Percents: []float64{25, 50, 75}},
		Forecast:       Forecast{Enabled: true, WithinDays: 30, BeforeTermEnd: true, TrailingDays: 28, MinHistoryDays: 7},
		BurnPace:       BurnPace{Enabled: true, Percent: 70},
		PackExpiry:     PackExpiry{Enabled: true, Days: []int{90, 30, 7}},
		Spike:          Spike{Enabled: true, Factor: 3, TrailingDays: 28, MinHistoryDays: 7},
		HeavyUser:      HeavyUser{Enabled: true, DaysPerYear: 100, DaysPerWeek: 4},
		MultiProduct:   MultiProduct{Enabled: false, ProductsPerDay: 2},
		LongSession:    LongSession{Enabled: true, Hours: 12},
		SessionRenewed: Switch{Enabled: true},
		InactiveUser:   InactiveUser{Enabled: true, Days: 30},
		LaunchDenied:   Switch{Enabled: true},
		BudgetCrossed:  Switch{Enabled: true},
		Capacity:       Capacity{Enabled: true, Percent: 20},
	}
}

// FieldError names the setting that is wrong, as the settings message spells it.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// MaxListSetting bounds a list setting: usage tiers, pack expiry days.
const MaxListSetting = 20

// Validate returns a *FieldError for every bad setting, joined.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	share := func(field string, p float64) {
		if !(p > 0 && p < 100) {
			bad(field, "must be above 0 and below 100, got %v", p)
		}
	}
	positive := func(field string, n int) {
		if n <= 0 {
			bad(field, "must be above 0, got %d", n)
		}
	}
	share("low_balance.percent", c.LowBalance.Percent)
	if n := len(c.UsageTiers.Percents); n > MaxListSetting {
		bad("usage_tiers.percents", "at most %d tiers, got %d", MaxListSetting, n)
	}
	for i, p := range c.UsageTiers.Percents[:min(len(c.UsageTiers.Percents), MaxListSetting)] {
		share(fmt.Sprintf("usage_tiers.percents[%d]", i), p)
	}
	positive("forecast.within_days", c.Forecast.WithinDays)
	positive("forecast.trailing_days", c.Forecast.TrailingDays)
	positive("forecast.min_history_days", c.Forecast.MinHistoryDays)
	share("burn_pace.percent", c.BurnPace.Percent)
	if n := len(c.PackExpiry.Days); n > MaxListSetting {
		bad("pack_expiry.days", "at most %d days, got %d", MaxListSetting, n)
	}
	for i, d := range c.PackExpiry.Days[:min(len(c.PackExpiry.Days), MaxListSetting)] {
		positive(fmt.Sprintf("pack_expiry.days[%d]", i), d)
	}
	if c.Spike.DailyLimit < 0 {
		bad("spike.daily_limit_tokens", "must be 0 (no limit) or above, got %d", c.Spike.DailyLimit)
	}
	if !(c.Spike.Factor > 1) {
		bad("spike.factor", "must be above 1, got %v", c.Spike.Factor)
	}
	positive("spike.trailing_days", c.Spike.TrailingDays)
	positive("spike.min_history_days", c.Spike.MinHistoryDays)
	positive("heavy_user.days_per_year", c.HeavyUser.DaysPerYear)
	if !(c.HeavyUser.DaysPerWeek > 0 && c.HeavyUser.DaysPerWeek < 7) {
		bad("heavy_user.days_per_week", "must be above 0 and below 7, got %v", c.HeavyUser.DaysPerWeek)
	}
	if c.MultiProduct.ProductsPerDay < 2 {
		bad("multi_product.products_per_day", "must be 2 or more, got %d", c.MultiProduct.ProductsPerDay)
	}
	if !(c.LongSession.Hours > 0) {
		bad("long_session.hours", "must be above 0, got %v", c.LongSession.Hours)
	}
	positive("inactive_user.days", c.InactiveUser.Days)
	share("capacity.percent", c.Capacity.Percent)
	return errors.Join(errs...)
}

// normalised returns c with its lists sorted as the rules read them: tiers
// ascending, expiry days descending, without duplicates.
func (c Config) normalised() Config {
	c.UsageTiers.Percents = slices.Compact(slices.Sorted(slices.Values(c.UsageTiers.Percents)))
	days := slices.Compact(slices.Sorted(slices.Values(c.PackExpiry.Days)))
	slices.Reverse(days)
	c.PackExpiry.Days = days
	return c
}
