package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// fakeClock is the wall clock of ticks.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func startWith(t *testing.T, js jetstream.JetStream, count *publishLog, fold engine.Fold, clock func() time.Time) *running {
	t.Helper()
	eng := engine.New(js, engine.Options{Fold: fold, Defaults: rulesConfig, TickEvery: 5 * time.Millisecond, Now: clock, Log: slog.New(count)})
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{eng: eng, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func ledgerFold(t *testing.T) engine.Fold {
	t.Helper()
	r, err := rules.New(rulesConfig)
	require.NoError(t, err)
	return r
}

// TestClockTicksSurviveRestarts: alerts raised by wall-clock ticks are
// replayed at the same place on restart, so the rule state they left (a
// pack already warned at 90 days) is rebuilt and nothing is raised twice.
func TestClockTicksSurviveRestarts(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	ev := &v1.Event{EventId: "pack-1", OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(t0),
		Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p1", Tokens: 500, PurchasedAt: timestamppb.New(t0),
			ExpiresAt: timestamppb.New(t0.Add(100 * 24 * time.Hour)), Pool: &v1.PoolFigures{Available: 500, Live: 500}}}}
	res, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject("acme", "design"), ev, nil)
	require.NoError(t, err)

	eng := startWith(t, js, count, ledgerFold(t), clock.Now)
	eng.wait(t, res.Sequence)
	clock.Set(t0.Add(11 * 24 * time.Hour))
	require.Eventually(t, func() bool { return len(stored(t, js)) == 1 }, 10*time.Second, 5*time.Millisecond)
	eng.stop(t)

	// The restarted engine replays the tick: no second 90-day alert while the clock stands still.
	eng = startWith(t, js, count, ledgerFold(t), clock.Now)
	eng.wait(t, res.Sequence)
	clock.Set(t0.Add(71 * 24 * time.Hour))
	require.Eventually(t, func() bool { return len(stored(t, js)) == 2 }, 10*time.Second, 5*time.Millisecond)
	eng.stop(t)

	got := stored(t, js)
	require.Equal(t, []string{
		rules.AlertID(rules.KindPackExpiring, "acme", "design", res.Sequence, "p1", "90"),
		rules.AlertID(rules.KindPackExpiring, "acme", "design", res.Sequence, "p1", "30"),
	}, ids(got))
	require.Equal(t, t0.Add(11*24*time.Hour), got[0].GetRaisedAt().AsTime(), "raised at the tick's time")
	n, dupes := count.published()
	require.Equal(t, 2, n)
	require.Zero(t, dupes)
}

// TestUsageSessionsAlongsideTheLedger runs the USAGE engine beside the LEDGER
// one: each keeps its own place in the ALERTS stream across restarts.
func TestUsageSessionsAlongsideTheLedger(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var last uint64
	beat := func(i int) {
		ev := &v1.Event{EventId: fmt.Sprintf("hb-%d", i), OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(t0.Add(time.Duration(i) * 30 * time.Minute)),
			Payload: &v1.Event_HeartbeatReceived{HeartbeatReceived: &v1.HeartbeatReceived{UserId: "ann", ProductCode: "RVT", DeviceId: "pc", Active: true}}}
		res, err := eventlog.Append(t.Context(), js, eventlog.UsageSubject("acme", "design"), ev, nil)
		require.NoError(t, err)
		last = res.Sequence
	}
	for i := range 30 { // 14.5 hours
		beat(i)
	}
	l := &ledger{t: t, js: js, at: t0}
	l.append("design", packAdded, 1000, 1000)
	crossed := l.append("design", charged, 100, 1000)

	sessions := func() engine.Fold {
		s, err := rules.NewSessions(rulesConfig)
		require.NoError(t, err)
		return s
	}
	for range 2 { // the second run raises nothing new
		u := startWith(t, js, count, sessions(), nil)
		g := startWith(t, js, count, ledgerFold(t), nil)
		u.wait(t, last)
		g.wait(t, crossed)
		u.stop(t)
		g.stop(t)
	}
	got := stored(t, js)
	require.Len(t, got, 2)
	bySource := map[string]string{}
	for _, a := range got {
		bySource[a.GetSourceStream()] = a.GetKind()
	}
	require.Equal(t, map[string]string{"USAGE": rules.KindLongSession, "LEDGER": rules.KindLowBalance}, bySource)
	n, dupes := count.published()
	require.Equal(t, 2, n)
	require.Zero(t, dupes)
}
