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

// BenchmarkForecastRunOut folds charges of 1,000 teams with forecast_run_out
// on (before_term_end off, so nothing fires) and, as the raw figure to
// compare with, off. "day" is one day's charges after 100 days of history
// (the model built once a team's day, the run-out simulated again only when
// the packs change beyond what they hold at the limit); "daily" gives each
// team one charge a day, so every charge builds the day's model and
// simulates: the worst case.
func BenchmarkForecastRunOut(b *testing.B) {
	const teams = 1000
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { // team i%teams's charge on day i/teams
		return t0.Add(time.Duration(i/teams)*24*time.Hour + time.Duration(i%teams)*time.Second)
	}
	for _, c := range []struct {
		name    string
		on      bool
		history int
	}{{"day/off", false, 100 * teams}, {"day/on", true, 100 * teams}, {"daily/off", false, 0}, {"daily/on", true, 0}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := rules.Defaults()
			cfg.Forecast.Enabled, cfg.Forecast.BeforeTermEnd = c.on, false
			r, err := rules.New(cfg)
			require.NoError(b, err)
			var seq uint64
			for i := range teams {
				seq++
				r.Apply(seq, benchPack(i, t0))
			}
			for i := range c.history {
				seq++
				r.Apply(seq, benchCharge(i%teams, at(i), 100))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				seq++
				when := at(c.history + i)
				if c.history > 0 { // every charge on the day after the history
					when = at(c.history).Add(time.Duration(i%50_000) * time.Second)
				}
				r.Apply(seq, benchCharge(i%teams, when, 10))
			}
		})
	}
}

func benchPack(team int, at time.Time) *v1.Event {
	return &v1.Event{OrgId: "acme", TeamId: fmt.Sprintf("t%04d", team), ServerTime: timestamppb.New(at),
		Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p1", Tokens: 28_000, PurchasedAt: timestamppb.New(at),
			ExpiresAt: timestamppb.New(at.Add(730 * 24 * time.Hour)), Pool: &v1.PoolFigures{Available: 28_000, Live: 28_000}}}}
}

func benchCharge(team int, at time.Time, tokens int64) *v1.Event {
	return &v1.Event{OrgId: "acme", TeamId: fmt.Sprintf("t%04d", team), ServerTime: timestamppb.New(at),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: "ann", ProductCode: "RVT", Tokens: tokens,
			Split: []*v1.PackSplit{{PackId: "p1", Tokens: tokens}}, Pool: &v1.PoolFigures{Available: 18_000, Live: 28_000}}}}
}
