package rules_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

func TestUsageSpike(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) {
		c.LowBalance.Enabled = false
		c.BurnPace.Enabled = false
		c.Forecast.Enabled = false
	})
	f.pack("p1", 100000, 365*day)
	for range 10 {
		require.Empty(t, only(rules.KindUsageSpike, f.charge("ann", "RVT", 20)))
		f.advance(day)
	}
	require.Empty(t, only(rules.KindUsageSpike, f.charge("ann", "RVT", 60)), "60 is not above 3 x 20")
	got := only(rules.KindUsageSpike, f.charge("bob", "RVT", 10))
	require.Len(t, got, 1, "70 is above 3 x 20")
	require.Equal(t, "Team design used 70 tokens on 2026-03-12, 3.5× its trailing daily mean of 20", got[0].GetMessage())
	require.Equal(t, "usage_spike.acme.design.13.2026-03-12", got[0].GetAlertId())
	require.Empty(t, only(rules.KindUsageSpike, f.charge("carl", "RVT", 100)), "once a day")
	f.advance(day)
	require.Empty(t, only(rules.KindUsageSpike, f.charge("ann", "RVT", 20)))

	// A daily limit fires from the first day, with no history.
	g := newFeed(t, func(c *rules.Config) {
		c.Spike.DailyLimit = 50
		c.LowBalance.Enabled = false
		c.BurnPace.Enabled = false
	})
	g.pack("p1", 1000, 365*day)
	require.Empty(t, only(rules.KindUsageSpike, g.charge("ann", "RVT", 50)))
	got = only(rules.KindUsageSpike, g.charge("ann", "ACAD", 7))
	require.Len(t, got, 1)
	require.Equal(t, "Team design used 57 tokens on 2026-03-02, over its daily limit of 50", got[0].GetMessage())
}

func TestHeavyUser(t *testing.T) {
	t.Parallel()
	quiet := func(c *rules.Config) {
		c.LowBalance.Enabled, c.BurnPace.Enabled, c.Forecast.Enabled, c.Spike.Enabled = false, false, false, false
	}
	// Every third day for a year: 2 days a week is not heavy by the week, 101 days is by the year.
	f := newFeed(t, quiet)
	f.pack("p1", 1_000_000, 800*day)
	var raised []*v1.Alert
	for i := range 120 {
		got := only(rules.KindHeavyUser, f.charge("ann", "RVT", 10))
		if len(got) > 0 {
			require.Equal(t, 100, i, "the 101st day")
		}
		raised = append(raised, got...)
		f.advance(3 * day)
	}
	require.Len(t, raised, 1)
	require.Equal(t, "heavy_user.acme.design.102.ann", raised[0].GetAlertId())

	// Five days a week: heavy after four weeks, by the week.
	g := newFeed(t, quiet)
	g.pack("p1", 1_000_000, 800*day)
	raised = nil
	for i := range 35 {
		if i%7 < 5 {
			raised = append(raised, only(rules.KindHeavyUser, g.charge("bob", "RVT", 10))...)
		}
		g.advance(day)
	}
	require.Len(t, raised, 1)
	require.InDelta(t, 5, raised[0].GetFigures()["days_per_week"], 0.3)
}

func TestMultiProduct(t *testing.T) {
	t.Parallel()
	f := newFeed(t, func(c *rules.Config) { c.MultiProduct.Enabled = true })
	f.pack("p1", 100000, 365*day)
	require.Empty(t, only(rules.KindMultiProduct, f.charge("ann", "RVT", 10)))
	got := only(rules.KindMultiProduct, f.charge("ann", "ACAD", 7))
	require.Len(t, got, 1)
	require.Equal(t, "ann of team design opened 2 products on 2026-03-02 (RVT, ACAD); each costs a full daily rate", got[0].GetMessage())
	require.Empty(t, only(rules.KindMultiProduct, f.charge("ann", "C3D", 9)), "once a day")
	require.Empty(t, only(rules.KindMultiProduct, f.charge("bob", "RVT", 10)), "users are apart")
	f.advance(day)
	f.charge("ann", "RVT", 10)
	require.Len(t, only(rules.KindMultiProduct, f.charge("ann", "ACAD", 7)), 1, "the next day is another crossing")

	off := newFeed(t, nil)
	off.charge("ann", "RVT", 10)
	require.Empty(t, only(rules.KindMultiProduct, off.charge("ann", "ACAD", 7)), "off by default")
}

func TestSessionRenewed(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	f.pack("p1", 1000, 365*day)
	renew := func() []*v1.Alert {
		f.avail -= 10
		return only(rules.KindSessionRenewed, f.event(func(ev *v1.Event) {
			ev.Payload = &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: "ann", ProductCode: "RVT", DeviceId: "ann-pc", Tokens: 10, Renewal: true, Pool: f.pool()}}
		}))
	}
	got := renew()
	require.Len(t, got, 1)
	require.Equal(t, "ann of team design left RVT open on ann-pc past its 24-hour window: another 10 tokens were charged", got[0].GetMessage())
	f.advance(day)
	require.Len(t, renew(), 1, "every renewal is a crossing")
}

func TestInactiveUser(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	assign := func(u string) {
		f.event(func(ev *v1.Event) {
			ev.Payload = &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: u, ProductCodes: []string{"*"}}}
		})
	}
	assign("ann")
	assign("bob")
	f.advance(29 * day)
	require.Empty(t, f.tick())
	f.advance(day)
	got := f.tick()
	require.Equal(t, []string{rules.KindInactiveUser, rules.KindInactiveUser}, kinds(got))
	require.Equal(t, "ann of team design has launched nothing since being assigned on 2026-03-02 (30 days)", got[0].GetMessage())
	require.Empty(t, f.tick(), "once")
	f.event(func(ev *v1.Event) {
		ev.Payload = &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{UserId: "ann", ProductCode: "RVT"}}
	})
	f.event(func(ev *v1.Event) {
		ev.Payload = &v1.Event_UserUnassigned{UserUnassigned: &v1.UserUnassigned{UserId: "bob"}}
	})
	f.advance(31 * day)
	got = f.tick()
	require.Len(t, got, 1, "ann re-armed by her launch; bob is no longer assigned")
	require.Equal(t, "ann of team design has not launched anything since 2026-04-01 (31 days)", got[0].GetMessage())
}

// A user on a named subscription launches without tokens (LaunchSubscribed):
// that is use, so inactive_user does not call them inactive and re-arms.
func TestInactiveUserCountsSubscriptionLaunches(t *testing.T) {
	t.Parallel()
	f := newFeed(t, nil)
	f.event(func(ev *v1.Event) {
		ev.Payload = &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: "sam", ProductCodes: []string{"*"}}}
	})
	subscribed := func() {
		f.event(func(ev *v1.Event) {
			ev.Payload = &v1.Event_LaunchSubscribed{LaunchSubscribed: &v1.LaunchSubscribed{UserId: "sam", ProductCode: "RVT"}}
		})
	}
	f.advance(20 * day)
	subscribed()
	f.advance(20 * day)
	require.Empty(t, f.tick(), "sam launched by subscription 20 days ago")
	f.advance(10 * day)
	got := f.tick()
	require.Len(t, got, 1)
	require.Equal(t, "sam of team design has not launched anything since 2026-03-22 (30 days)", got[0].GetMessage())
	subscribed()
	f.advance(29 * day)
	require.Empty(t, f.tick(), "re-armed by the subscription launch, not yet due again")
}

func TestLongSession(t *testing.T) {
	t.Parallel()
	s, err := rules.NewSessions(rules.Defaults())
	require.NoError(t, err)
	now, seq := t0, uint64(0)
	apply := func(set func(*v1.Event)) []*v1.Alert {
		seq++
		ev := &v1.Event{OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(now)}
		set(ev)
		return s.Apply(seq, ev)
	}
	launch := func(ev *v1.Event) {
		ev.Payload = &v1.Event_LaunchReceived{LaunchReceived: &v1.LaunchReceived{UserId: "ann", ProductCode: "RVT", DeviceId: "pc", Decision: v1.Decision_DECISION_AUTHORIZED}}
	}
	beat := func(ev *v1.Event) {
		ev.Payload = &v1.Event_HeartbeatReceived{HeartbeatReceived: &v1.HeartbeatReceived{UserId: "ann", ProductCode: "RVT", DeviceId: "pc", Active: true}}
	}
	end := func(ev *v1.Event) {
		ev.Payload = &v1.Event_SessionEnded{SessionEnded: &v1.SessionEnded{UserId: "ann", ProductCode: "RVT", DeviceId: "pc"}}
	}
	var raised []*v1.Alert
	apply(launch)
	for range 14 * 6 { // a heartbeat every 10 minutes for 14 hours
		now = now.Add(10 * time.Minute)
		raised = append(raised, apply(beat)...)
	}
	require.Len(t, raised, 1)
	require.Equal(t, "ann of team design has had RVT open on pc for 12 hours (since 2026-03-02 09:00 UTC)", raised[0].GetMessage())
	require.Equal(t, "USAGE", raised[0].GetSourceStream())
	apply(end)
	require.Zero(t, s.Open())
	now = now.Add(time.Hour)
	apply(launch)
	now = now.Add(3 * time.Hour)
	require.Empty(t, apply(beat), "a new session starts from zero")
	now = now.Add(3 * time.Hour) // silent for longer than the gap: another session
	apply(beat)
	now = now.Add(10 * time.Hour)
	require.Empty(t, apply(beat))
}

func TestSettingsOverDefaults(t *testing.T) {
	t.Parallel()
	on, pct := true, 35.0
	c := rules.WithSettings(rules.Defaults(), &v1.AlertRules{
		LowBalance: &v1.LowBalanceRule{Percent: &pct},
		UsageTiers: &v1.UsageTiersRule{Enabled: &on, Percents: []float64{90}},
		PackExpiry: &v1.PackExpiryRule{Days: []int32{14}},
	})
	require.True(t, c.LowBalance.Enabled, "unset fields keep the default")
	require.Equal(t, 35.0, c.LowBalance.Percent)
	require.Equal(t, []float64{90}, c.UsageTiers.Percents)
	require.True(t, c.UsageTiers.Enabled)
	require.Equal(t, []int{14}, c.PackExpiry.Days)
	require.Equal(t, []int{90, 30, 7}, rules.Defaults().PackExpiry.Days, "defaults untouched")
	require.Equal(t, c, rules.WithSettings(rules.Defaults(), c.Proto()), "effective rules round-trip")
	require.NoError(t, c.Validate())
}
