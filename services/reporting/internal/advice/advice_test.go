package advice

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// spread returns days used per month for 12 months adding up to total.
func spread(total int64) []int64 {
	out := make([]int64, 12)
	for i := range out {
		out[i] = total / 12
	}
	out[11] += total % 12
	return out
}

// The seeds' case: a firm gave tokens to 20 part-time AutoCAD users; 10 of
// them used it well over 100 days a year. At 7 tokens a day, 3 EUR a token,
// and a 1,700 EUR yearly named subscription, each heavy user on 200 days
// costs 200 x 7 x 3 = 4,200 EUR on tokens: moving the ten saves
// 10 x (4,200 - 1,700) = 25,000 EUR a year, the seeds' "approximately
// EUR 25,000". The ten occasional users (30 days: 630 EUR) stay on tokens.
func TestAdviseSeedTwentyUsers(t *testing.T) {
	t.Parallel()
	cfg := Config{TokenPrice: 3, Currency: "EUR", Subscriptions: map[string]Subscription{
		"ACAD": {Name: "AutoCAD named user", YearlyPrice: 1700},
	}}
	var usage []Usage
	for i := range 20 {
		days := int64(30)
		if i < 10 {
			days = 200
		}
		usage = append(usage, Usage{TeamID: "design", UserID: fmt.Sprintf("user-%02d", i), ProductCode: "ACAD",
			DaysByMonth: spread(days), Tokens: days * 7})
	}
	r := Advise(cfg, usage, []Idle{{TeamID: "design", UserID: "gone", LastUsed: "2024-01-10"}})

	require.Equal(t, int64(10), r.UsersToMove)
	require.InDelta(t, 25000.0, r.TotalSaving, 1e-9)
	require.Equal(t, int64(1), r.UsersToUnassign)
	require.Len(t, r.Advice, 21)
	for i, a := range r.Advice[:10] {
		require.Equal(t, MoveToSubscription, a.Action, i)
		require.Equal(t, int64(200), a.Days)
		require.InDelta(t, 16.67, a.AveragePerMonth, 1e-9)
		require.InDelta(t, 4200.0, a.TokenCost, 1e-9)
		require.InDelta(t, 1700.0, a.SubscriptionCost, 1e-9)
		require.InDelta(t, 2500.0, a.Saving, 1e-9)
		require.Equal(t, "AutoCAD named user", a.SubscriptionName)
	}
	for _, a := range r.Advice[10:20] {
		require.Equal(t, KeepOnTokens, a.Action)
		require.InDelta(t, 630.0, a.TokenCost, 1e-9)
		require.Zero(t, a.Saving)
	}
	require.Equal(t, Unassign, r.Advice[20].Action)
	require.Equal(t, "gone", r.Advice[20].UserID)
}

func TestAdviseThresholds(t *testing.T) {
	t.Parallel()
	cfg := Config{TokenPrice: 3, Subscriptions: map[string]Subscription{"REVIT": {Name: "Revit", YearlyPrice: 2910}}}
	tests := []struct {
		name   string
		u      Usage
		action Action
		saving float64
	}{
		// 100 days is not "more than 100": 3,000 on tokens, still kept.
		{"exactly 100 days", Usage{ProductCode: "REVIT", DaysByMonth: spread(100), Tokens: 1000}, KeepOnTokens, 0},
		// 101 days: heavy by the year, and 3,030 > 2,910.
		{"101 days", Usage{ProductCode: "REVIT", DaysByMonth: spread(101), Tokens: 1010}, MoveToSubscription, 120},
		// 12 days a month is heavy (144 days), and 4,320 > 2,910.
		{"12 a month", Usage{ProductCode: "REVIT", DaysByMonth: spread(144), Tokens: 1440}, MoveToSubscription, 1410},
		// Heavy but cheap: tokens cost less than the subscription.
		{"heavy but cheap", Usage{ProductCode: "REVIT", DaysByMonth: spread(150), Tokens: 900}, KeepOnTokens, 0},
		{"no price configured", Usage{ProductCode: "FUSION", DaysByMonth: spread(300), Tokens: 600}, KeepOnTokens, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Advise(cfg, []Usage{tt.u}, nil)
			require.Equal(t, tt.action, r.Advice[0].Action, r.Advice[0].Reason)
			require.InDelta(t, tt.saving, r.Advice[0].Saving, 1e-9)
			require.NotEmpty(t, r.Advice[0].Reason)
		})
	}
}

// A user who already holds the subscription is not advised on the product
// (their tokens are history); another heavy user still is.
func TestAdviseSkipsSubscribedUsers(t *testing.T) {
	t.Parallel()
	cfg := Config{TokenPrice: 3, Subscriptions: map[string]Subscription{"REVIT": {Name: "Revit", YearlyPrice: 2910}}}
	heavy := func(user string, subscribed bool) Usage {
		return Usage{UserID: user, ProductCode: "REVIT", DaysByMonth: spread(144), Tokens: 1440, Subscribed: subscribed}
	}
	r := Advise(cfg, []Usage{heavy("moved", true), heavy("hal", false)}, nil)
	require.Len(t, r.Advice, 1)
	require.Equal(t, "hal", r.Advice[0].UserID)
	require.Equal(t, int64(1), r.UsersToMove)
	require.InDelta(t, 1410.0, r.TotalSaving, 1e-9)
}

func TestParseSubscriptions(t *testing.T) {
	t.Parallel()
	got, err := ParseSubscriptions(" ACAD=1700:AutoCAD named user, REVIT=2910 ,")
	require.NoError(t, err)
	require.Equal(t, map[string]Subscription{
		"ACAD":  {Name: "AutoCAD named user", YearlyPrice: 1700},
		"REVIT": {Name: "REVIT subscription", YearlyPrice: 2910},
	}, got)
	for _, bad := range []string{"ACAD", "=10", "ACAD=x", "ACAD=-1"} {
		_, err := ParseSubscriptions(bad)
		require.Error(t, err, bad)
	}
}
