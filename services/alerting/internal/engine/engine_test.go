package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

var rulesConfig = rules.Defaults()

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// publishLog counts the alerts an engine published, from its logs:
// Nats-Msg-Id would hide a republished alert from a count of the ALERTS stream.
type publishLog struct {
	slog.Handler
	mu       sync.Mutex
	n, dupes int
}

func newPublishLog() *publishLog { return &publishLog{Handler: slog.NewTextHandler(io.Discard, nil)} }

func (r *publishLog) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "alert raised" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "duplicate" && a.Value.Bool() {
			r.dupes++
		}
		return true
	})
	return nil
}

func (r *publishLog) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *publishLog) WithGroup(string) slog.Handler      { return r }

// published is how many alerts were published, and how many of those
// JetStream found to be duplicates.
func (r *publishLog) published() (n, dupes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.dupes
}

// connect starts NATS and provisions the streams. The tests write the
// ledger's, ingestion's and the engine's events on one connection, so they
// play the admin; alerting_test.go runs the engine as alerting.
func connect(t *testing.T) jetstream.JetStream {
	t.Helper()
	url, _ := testkit.NATS(t)
	nc, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "admin"), "engine-test", quiet(),
		eventlog.Streams{Own: []string{eventlog.LedgerStream, eventlog.UsageStream, eventlog.AlertsStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return js
}

// ledger appends events of team "design" of org "acme", one per call, on
// the one-stream layout or, with partitioned, on partition part's stream.
type ledger struct {
	t           *testing.T
	js          jetstream.JetStream
	n           int
	at          time.Time
	partitioned bool
	part        int
}

func (l *ledger) append(team string, payload func(pool *v1.PoolFigures) *v1.Event, available, live int64) uint64 {
	l.t.Helper()
	l.n++
	ev := payload(&v1.PoolFigures{Available: available, Live: live})
	ev.EventId = fmt.Sprintf("%s-ev-%d", team, l.n)
	ev.OrgId, ev.TeamId = "acme", team
	ev.ServerTime = timestamppb.New(l.at.Add(time.Duration(l.n) * time.Minute))
	subj := eventlog.LedgerSubject("acme", team)
	if l.partitioned {
		subj = subject.LedgerSubjectIn(l.part, "acme", team)
	}
	res, err := eventlog.Append(l.t.Context(), l.js, subj, ev, nil)
	require.NoError(l.t, err)
	return res.Sequence
}

func charged(pool *v1.PoolFigures) *v1.Event {
	return &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{ProductCode: "RVT", Tokens: 10, Pool: pool}}}
}

func packAdded(pool *v1.PoolFigures) *v1.Event {
	return &v1.Event{Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p", Tokens: 1000, Pool: pool}}}
}

func insufficient(pool *v1.PoolFigures) *v1.Event {
	return &v1.Event{Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{
		ProductCode: "RVT", Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, TokensRequired: 10, Pool: pool}}}
}

// running is an engine started in the background.
type running struct {
	eng    *engine.Engine
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, js jetstream.JetStream, count *publishLog) *running {
	t.Helper()
	return startOn(t, js, count, "")
}

// startOn starts an engine on stream ("": the fold's, LEDGER).
func startOn(t *testing.T, js jetstream.JetStream, count *publishLog, stream string) *running {
	t.Helper()
	fold, err := rules.New(rulesConfig)
	require.NoError(t, err)
	eng := engine.New(js, engine.Options{Fold: fold, Stream: stream, Defaults: rulesConfig, Log: slog.New(count)})
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{eng: eng, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) wait(t *testing.T, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(t, r.eng.WaitFor(ctx, seq))
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("engine did not stop")
	}
}

// stored returns every alert on the ALERTS stream, in order.
func stored(t *testing.T, js jetstream.JetStream) []*v1.Alert {
	t.Helper()
	var out []*v1.Alert
	_, err := eventlog.ReadSubject(t.Context(), js, eventlog.AlertsStream, "alerts.>", 0, func(s eventlog.Stored) error {
		a := s.Event.GetAlert()
		require.NotNil(t, a, "message %d holds no alert", s.Sequence)
		require.Equal(t, a.GetAlertId(), s.Event.GetEventId())
		require.Equal(t, eventlog.AlertSubject(a.GetOrgId(), a.GetTeamId(), a.GetKind()), s.Subject)
		out = append(out, a)
		return nil
	})
	require.NoError(t, err)
	return out
}

func ids(alerts []*v1.Alert) []string {
	out := make([]string, len(alerts))
	for i, a := range alerts {
		out[i] = a.GetAlertId()
	}
	return out
}

func TestLowBalanceOncePerCrossing(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	l := &ledger{t: t, js: js, at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	eng := start(t, js, count)

	l.append("design", packAdded, 1000, 1000)
	l.append("design", charged, 500, 1000)
	l.append("design", charged, 210, 1000)
	first := l.append("design", charged, 190, 1000) // crosses 20 %
	l.append("design", charged, 150, 1000)
	last := l.append("design", charged, 100, 1000)
	eng.wait(t, last)
	got := stored(t, js)
	require.Equal(t, []string{rules.AlertID(rules.KindLowBalance, "acme", "design", first)}, ids(got))
	require.Equal(t, "Team design has 190 tokens left (19 %) of 1000 live", got[0].GetMessage())
	require.Equal(t, v1.Severity_SEVERITY_WARNING, got[0].GetSeverity())
	require.Equal(t, first, got[0].GetSourceSequence())

	l.append("design", packAdded, 1100, 2000) // recovery: 55 %
	l.append("design", charged, 500, 2000)
	second := l.append("design", charged, 390, 2000) // crosses again
	last = l.append("design", charged, 300, 2000)
	eng.wait(t, last)
	require.Equal(t, []string{
		rules.AlertID(rules.KindLowBalance, "acme", "design", first),
		rules.AlertID(rules.KindLowBalance, "acme", "design", second),
	}, ids(stored(t, js)))
}

func TestRestartNeitherRepeatsNorLoses(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	l := &ledger{t: t, js: js, at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}

	// What the whole history must raise, whatever the restarts.
	var want []string
	expect := func(kind string, seq uint64) { want = append(want, rules.AlertID(kind, "acme", "design", seq)) }

	l.append("design", packAdded, 1000, 1000)
	expect(rules.KindLowBalance, l.append("design", charged, 100, 1000))
	eng := start(t, js, count)
	eng.wait(t, 2)
	eng.stop(t)

	l.append("design", packAdded, 1100, 2000)
	expect(rules.KindLowBalance, l.append("design", charged, 0, 2000))
	expect(rules.KindLaunchDenied, l.append("design", insufficient, 0, 2000))
	l.append("design", insufficient, 0, 2000)
	last := l.append("design", packAdded, 1000, 3000)

	eng = start(t, js, count)
	eng.wait(t, last)
	eng.stop(t)
	require.Equal(t, want, ids(stored(t, js)))

	// A third run over an unchanged ledger publishes nothing.
	eng = start(t, js, count)
	eng.wait(t, last)
	eng.stop(t)
	require.Equal(t, want, ids(stored(t, js)))
	n, dupes := count.published()
	require.Equal(t, len(want), n, "each alert published once, none attempted again")
	require.Zero(t, dupes)
}

// TestRestartBetweenAlertsOfOneEvent covers a crash after the first of two
// alerts raised by one ledger event was stored.
func TestRestartBetweenAlertsOfOneEvent(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	l := &ledger{t: t, js: js, at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	l.append("design", packAdded, 1000, 1000)
	both := l.append("design", insufficient, 5, 1000) // low balance and launch denied

	// What the crashed run managed to store: the first alert only.
	r, err := rules.New(rulesConfig)
	require.NoError(t, err)
	r.Apply(1, &v1.Event{OrgId: "acme", TeamId: "design", Payload: packAdded(&v1.PoolFigures{Available: 1000, Live: 1000}).Payload})
	raised := r.Apply(both, &v1.Event{OrgId: "acme", TeamId: "design", Payload: insufficient(&v1.PoolFigures{Available: 5, Live: 1000}).Payload})
	require.Len(t, raised, 2)
	_, err = eventlog.Append(t.Context(), js, eventlog.AlertSubject("acme", "design", raised[0].GetKind()),
		&v1.Event{EventId: raised[0].GetAlertId(), OrgId: "acme", TeamId: "design", Payload: &v1.Event_Alert{Alert: raised[0]}}, nil)
	require.NoError(t, err)

	eng := start(t, js, count)
	eng.wait(t, both)
	eng.stop(t)
	n, dupes := count.published()
	require.Equal(t, 1, n, "only the second alert is published")
	require.Zero(t, dupes)
	require.Equal(t, []string{
		rules.AlertID(rules.KindLowBalance, "acme", "design", both),
		rules.AlertID(rules.KindLaunchDenied, "acme", "design", both),
	}, ids(stored(t, js)))
}

func TestTeamsAreIndependent(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	l := &ledger{t: t, js: js, at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	eng := start(t, js, count)
	l.append("design", packAdded, 1000, 1000)
	l.append("build", packAdded, 100, 100)
	b := l.append("build", charged, 0, 100)
	d := l.append("design", charged, 150, 1000)
	eng.wait(t, d)
	got := stored(t, js)
	require.Equal(t, []string{
		rules.AlertID(rules.KindLowBalance, "acme", "build", b),
		rules.AlertID(rules.KindLowBalance, "acme", "design", d),
	}, ids(got))
	require.Equal(t, v1.Severity_SEVERITY_CRITICAL, got[0].GetSeverity())
}

func TestWaitForHonoursContext(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	eng := start(t, js, count)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, eng.eng.WaitFor(ctx, 99), context.DeadlineExceeded)
}

// TestRestartsWhileTheLedgerGrows stops and starts the engine while events
// keep coming; the ALERTS stream ends up holding exactly what one
// uninterrupted fold of the whole ledger raises.
func TestRestartsWhileTheLedgerGrows(t *testing.T) {
	t.Parallel()
	js := connect(t)
	count := newPublishLog()
	l := &ledger{t: t, js: js, at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	type step struct {
		team            string
		payload         func(*v1.PoolFigures) *v1.Event
		available, live int64
	}
	var steps []step
	for i := range 30 {
		team := []string{"design", "build", "ops"}[i%3]
		steps = append(steps,
			step{team, packAdded, 1000, 1000},
			step{team, charged, 150, 1000},
			step{team, insufficient, 0, 1000},
			step{team, insufficient, 0, 1000},
		)
	}

	appended := make(chan uint64, 1)
	go func() {
		var last uint64
		for _, s := range steps {
			last = l.append(s.team, s.payload, s.available, s.live)
		}
		appended <- last
	}()
	var last uint64
	for done := false; !done; {
		eng := start(t, js, count)
		select {
		case last = <-appended:
			eng.wait(t, last)
			done = true
		case <-time.After(30 * time.Millisecond):
		}
		eng.stop(t)
	}

	r, err := rules.New(rulesConfig)
	require.NoError(t, err)
	var want []string
	for i, s := range steps {
		ev := s.payload(&v1.PoolFigures{Available: s.available, Live: s.live})
		ev.OrgId, ev.TeamId = "acme", s.team
		for _, a := range r.Apply(uint64(i+1), ev) {
			want = append(want, a.GetAlertId())
		}
	}
	require.Len(t, want, 60)
	require.Equal(t, want, ids(stored(t, js)))
	n, dupes := count.published()
	require.Equal(t, len(want), n, "each alert published once, none attempted again")
	require.Zero(t, dupes)
}
