package rules_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func envelope(org, team string, at time.Time) *v1.Event {
	return &v1.Event{EventId: fmt.Sprintf("ev-%d", at.UnixNano()), OrgId: org, TeamId: team, ServerTime: timestamppb.New(at)}
}

func pool(available, live int64) *v1.PoolFigures {
	return &v1.PoolFigures{Available: available, Live: live}
}

func charged(team string, available, live int64) *v1.Event {
	ev := envelope("acme", team, t0)
	ev.Payload = &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{ProductCode: "RVT", Tokens: 10, Pool: pool(available, live)}}
	return ev
}

func denied(team string, reason v1.DenyReason, available, live int64) *v1.Event {
	ev := envelope("acme", team, t0)
	ev.Payload = &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{ProductCode: "RVT", Reason: reason, TokensRequired: 10, Pool: pool(available, live)}}
	return ev
}

func insufficient(team string, available, live int64) *v1.Event {
	return denied(team, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, available, live)
}

func packAdded(team string, available, live int64) *v1.Event {
	ev := envelope("acme", team, t0)
	ev.Payload = &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p", Tokens: 1000, Pool: pool(available, live)}}
	return ev
}

func adjusted(team string, available, live int64) *v1.Event {
	ev := envelope("acme", team, t0)
	ev.Payload = &v1.Event_TokensAdjusted{TokensAdjusted: &v1.TokensAdjusted{Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Pool: pool(available, live)}}
	return ev
}

func expired(team string, available, live int64) *v1.Event {
	ev := envelope("acme", team, t0)
	ev.Payload = &v1.Event_PackExpired{PackExpired: &v1.PackExpired{PackId: "p", Pool: pool(available, live)}}
	return ev
}

func covered(team string) *v1.Event {
	ev := envelope("acme", team, t0)
	ev.Payload = &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{ProductCode: "RVT"}}
	return ev
}

// fired is what the table expects of one alert: the 1-based index of the
// event in the table's sequence (its LEDGER sequence), kind and severity.
type fired struct {
	seq  uint64
	kind string
	sev  v1.Severity
}

const (
	warn = v1.Severity_SEVERITY_WARNING
	crit = v1.Severity_SEVERITY_CRITICAL
)

func TestRulesTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []*v1.Event
		want   []fired
	}{
		{name: "no events", want: nil},
		{name: "above threshold never fires",
			events: []*v1.Event{packAdded("d", 1000, 1000), charged("d", 500, 1000), charged("d", 201, 1000)}},
		{name: "exactly at threshold fires",
			events: []*v1.Event{packAdded("d", 1000, 1000), charged("d", 200, 1000)},
			want:   []fired{{2, rules.KindLowBalance, warn}}},
		{name: "fires once while below",
			events: []*v1.Event{packAdded("d", 1000, 1000), charged("d", 190, 1000), charged("d", 180, 1000), charged("d", 100, 1000)},
			want:   []fired{{2, rules.KindLowBalance, warn}}},
		{name: "first event already below fires",
			events: []*v1.Event{charged("d", 50, 1000)},
			want:   []fired{{1, rules.KindLowBalance, warn}}},
		{name: "critical when it falls straight to zero",
			events: []*v1.Event{packAdded("d", 10, 10), charged("d", 0, 10)},
			want:   []fired{{2, rules.KindLowBalance, crit}}},
		{name: "no second alert when an already low pool reaches zero",
			events: []*v1.Event{packAdded("d", 1000, 1000), charged("d", 150, 1000), adjusted("d", 0, 1000)},
			want:   []fired{{2, rules.KindLowBalance, warn}}},
		{name: "re-arms after recovery and fires on the next crossing",
			events: []*v1.Event{
				packAdded("d", 1000, 1000), charged("d", 190, 1000), charged("d", 180, 1000),
				packAdded("d", 1180, 2000), charged("d", 410, 2000), charged("d", 390, 2000),
			},
			want: []fired{{2, rules.KindLowBalance, warn}, {6, rules.KindLowBalance, warn}}},
		{name: "a recovery to exactly the threshold does not re-arm",
			events: []*v1.Event{packAdded("d", 1000, 1000), charged("d", 190, 1000), packAdded("d", 400, 2000), charged("d", 390, 2000)},
			want:   []fired{{2, rules.KindLowBalance, warn}}},
		{name: "expiry can cross the threshold",
			events: []*v1.Event{packAdded("d", 1000, 2000), expired("d", 100, 1000)},
			want:   []fired{{2, rules.KindLowBalance, warn}}},
		{name: "no live tokens neither fires nor re-arms",
			events: []*v1.Event{packAdded("d", 1000, 1000), charged("d", 100, 1000), expired("d", 0, 0), packAdded("d", 100, 1000)},
			want:   []fired{{2, rules.KindLowBalance, warn}}},
		{name: "events without figures change nothing",
			events: []*v1.Event{packAdded("d", 1000, 1000), covered("d"), charged("d", 100, 1000), covered("d")},
			want:   []fired{{3, rules.KindLowBalance, warn}}},
		{name: "teams are independent",
			events: []*v1.Event{packAdded("a", 1000, 1000), packAdded("b", 1000, 1000), charged("a", 100, 1000), charged("b", 900, 1000), charged("b", 100, 1000)},
			want:   []fired{{3, rules.KindLowBalance, warn}, {5, rules.KindLowBalance, warn}}},
		{name: "denied for lack of tokens fires once per crossing",
			events: []*v1.Event{packAdded("d", 5, 1000), insufficient("d", 5, 1000), insufficient("d", 5, 1000), insufficient("d", 5, 1000)},
			want:   []fired{{1, rules.KindLowBalance, warn}, {2, rules.KindLaunchDenied, crit}}},
		{name: "other deny reasons raise nothing",
			events: []*v1.Event{
				packAdded("d", 1000, 1000),
				denied("d", v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED, 1000, 1000),
				denied("d", v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, 1000, 1000),
				denied("d", v1.DenyReason_DENY_REASON_UNSPECIFIED, 1000, 1000),
			}},
		{name: "denial re-arms when the balance rises above zero",
			events: []*v1.Event{
				packAdded("d", 10, 10), charged("d", 0, 10), insufficient("d", 0, 10), insufficient("d", 0, 10),
				packAdded("d", 1000, 1010), charged("d", 0, 1010), insufficient("d", 0, 1010), insufficient("d", 0, 1010),
			},
			want: []fired{
				{2, rules.KindLowBalance, crit}, {3, rules.KindLaunchDenied, crit},
				{6, rules.KindLowBalance, crit}, {7, rules.KindLaunchDenied, crit},
			}},
		{name: "spending elsewhere after a denial does not re-arm it",
			events: []*v1.Event{packAdded("d", 5, 5), insufficient("d", 5, 5), charged("d", 3, 5), insufficient("d", 3, 5)},
			want:   []fired{{2, rules.KindLaunchDenied, crit}}},
		{name: "a denial on the first event of a team fires",
			events: []*v1.Event{insufficient("d", 0, 0)},
			want:   []fired{{1, rules.KindLaunchDenied, crit}}},
		{name: "one event can raise both kinds, low balance first",
			events: []*v1.Event{packAdded("d", 1000, 1000), insufficient("d", 5, 1000)},
			want:   []fired{{2, rules.KindLowBalance, warn}, {2, rules.KindLaunchDenied, crit}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := rules.New(rules.Defaults())
			require.NoError(t, err)
			var got []fired
			for i, ev := range tt.events {
				for _, a := range r.Apply(uint64(i+1), ev) {
					got = append(got, fired{a.GetSourceSequence(), a.GetKind(), a.GetSeverity()})
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLowBalanceAlert(t *testing.T) {
	t.Parallel()
	r, err := rules.New(rules.Defaults())
	require.NoError(t, err)
	require.Empty(t, r.Apply(41, packAdded("design", 1000, 1000)))
	ev := charged("design", 180, 1000)
	got := r.Apply(42, ev)
	require.Len(t, got, 1)
	want := &v1.Alert{
		AlertId:        "low_balance.acme.design.42",
		OrgId:          "acme",
		TeamId:         "design",
		Kind:           "low_balance",
		Severity:       v1.Severity_SEVERITY_WARNING,
		Message:        "Team design has 180 tokens left (18 %) of 1000 live",
		Figures:        map[string]float64{"available": 180, "live": 1000, "percent": 18, "threshold": 20},
		RaisedAt:       ev.GetServerTime(),
		SourceSequence: 42,
	}
	require.True(t, proto.Equal(want, got[0]), "got %v", got[0])
}

func TestLaunchDeniedAlert(t *testing.T) {
	t.Parallel()
	r, err := rules.New(rules.Defaults())
	require.NoError(t, err)
	got := r.Apply(7, insufficient("design", 0, 0))
	require.Len(t, got, 1)
	require.Equal(t, "launch_denied.acme.design.7", got[0].GetAlertId())
	require.Equal(t, "Team design refused a launch of RVT for lack of tokens: 10 needed, 0 left", got[0].GetMessage())
	require.Equal(t, map[string]float64{"available": 0, "live": 0, "tokens_required": 10}, got[0].GetFigures())
	require.Equal(t, uint64(7), got[0].GetSourceSequence())
}

func TestPercentRounding(t *testing.T) {
	t.Parallel()
	r, err := rules.New(rules.Defaults())
	require.NoError(t, err)
	got := r.Apply(1, charged("design", 1, 3))
	require.Empty(t, got, "33.3 % is above 20 %")
	got = r.Apply(2, charged("design", 1, 7))
	require.Len(t, got, 1)
	require.Equal(t, 14.3, got[0].GetFigures()["percent"])
	require.Equal(t, "Team design has 1 tokens left (14.3 %) of 7 live", got[0].GetMessage())
}

func TestSameEventsSameAlerts(t *testing.T) {
	t.Parallel()
	events := []*v1.Event{packAdded("d", 1000, 1000), charged("d", 100, 1000), insufficient("d", 0, 1000), packAdded("d", 1500, 2000), charged("d", 10, 2000)}
	run := func() []*v1.Alert {
		r, err := rules.New(rules.Defaults())
		require.NoError(t, err)
		var out []*v1.Alert
		for i, ev := range events {
			out = append(out, r.Apply(uint64(i+1), ev)...)
		}
		return out
	}
	a, b := run(), run()
	require.Len(t, a, len(b))
	for i := range a {
		require.True(t, proto.Equal(a[i], b[i]))
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []float64{0, -1, 100, 150} {
		cfg := rules.Defaults()
		cfg.LowBalance.Percent = p
		_, err := rules.New(cfg)
		require.ErrorIs(t, err, rules.ErrInvalidConfig, "percent %v", p)
		var fe *rules.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "low_balance.percent", fe.Field)
	}
	cfg := rules.Defaults()
	cfg.LowBalance.Percent = 0.5
	_, err := rules.New(cfg)
	require.NoError(t, err)
}
