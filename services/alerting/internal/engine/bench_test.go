package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

const benchTeams = 1000

// allRules turns every rule on, the opt-in ones too.
func allRules() rules.Config {
	c := rules.Defaults()
	c.UsageTiers.Enabled, c.MultiProduct.Enabled = true, true
	return c
}

func benchJS(b *testing.B) jetstream.JetStream {
	b.Helper()
	url, _ := testkit.NATS(b)
	nc, js, err := eventlog.Connect(b.Context(), testkit.Client(b, url, "admin"), "bench", slog.New(slog.NewTextHandler(io.Discard, nil)),
		eventlog.Streams{Own: []string{eventlog.LedgerStream, eventlog.UsageStream, eventlog.AlertsStream}})
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	return js
}

// benchEvent is the i-th event of a realistic mix over 1,000 teams: a pack
// per team first, then launches charged to five users of three products.
func benchEvent(i int, at time.Time) (string, *v1.Event) {
	team := fmt.Sprintf("t%04d", i%benchTeams)
	ev := &v1.Event{EventId: fmt.Sprintf("b-%d", i), OrgId: "acme", TeamId: team, ServerTime: timestamppb.New(at)}
	if i < benchTeams {
		ev.Payload = &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p1", Tokens: 1_000_000, PurchasedAt: ev.ServerTime,
			ExpiresAt: timestamppb.New(at.Add(365 * 24 * time.Hour)), Pool: &v1.PoolFigures{Available: 1_000_000, Live: 1_000_000}}}
	} else {
		n := int64(i / benchTeams)
		ev.Payload = &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: fmt.Sprintf("u%d", i%5), ProductCode: []string{"RVT", "ACAD", "C3D"}[i%5%3], DeviceId: "pc", Tokens: 10,
			Split: []*v1.PackSplit{{PackId: "p1", Tokens: 10}}, Pool: &v1.PoolFigures{Available: 1_000_000 - 10*n, Live: 1_000_000}}}
	}
	return eventlog.LedgerSubject("acme", team), ev
}

// BenchmarkFold is the pure rules core: events evaluated per second with all
// rules on for 1,000 teams, no I/O.
func BenchmarkFold(b *testing.B) {
	r, err := rules.New(allRules())
	require.NoError(b, err)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	events := make([]*v1.Event, 0, 100_000)
	for i := range cap(events) {
		_, ev := benchEvent(i, t0.Add(time.Duration(i)*time.Second))
		events = append(events, ev)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := events[i%len(events)]
		r.Apply(uint64(i+1), ev)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEngine folds b.N LEDGER events of 1,000 teams through every rule,
// beside a plain ordered consumer reading the same stream in the same run.
func BenchmarkEngine(b *testing.B) {
	js := benchJS(b)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	n := max(b.N, benchTeams+1)
	var pending []jetstream.PubAckFuture
	for i := range n {
		subject, ev := benchEvent(i, t0.Add(time.Duration(i)*time.Second))
		msg, err := eventlog.NewMsg(b.Context(), subject, ev)
		require.NoError(b, err)
		f, err := js.PublishMsgAsync(msg)
		require.NoError(b, err)
		pending = append(pending, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("appends did not complete")
	}
	for _, f := range pending {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
	b.ResetTimer()

	// The raw figure: a plain ordered consumer decoding every event.
	start := time.Now()
	cons, err := js.OrderedConsumer(b.Context(), eventlog.LedgerStream, jetstream.OrderedConsumerConfig{})
	require.NoError(b, err)
	iter, err := cons.Messages(jetstream.PullMaxMessages(512))
	require.NoError(b, err)
	for range n {
		msg, err := iter.Next()
		require.NoError(b, err)
		_, err = eventlog.Decode(msg.Data())
		require.NoError(b, err)
	}
	iter.Stop()
	plain := time.Since(start)

	fold, err := rules.New(allRules())
	require.NoError(b, err)
	eng := engine.New(js, engine.Options{Fold: fold, Defaults: allRules(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	start = time.Now()
	go func() { done <- eng.Run(ctx) }()
	require.NoError(b, eng.WaitFor(b.Context(), uint64(n)))
	folded := time.Since(start)
	cancel()
	require.NoError(b, <-done)
	b.StopTimer()
	b.ReportMetric(float64(n)/folded.Seconds(), "events/s")
	b.ReportMetric(float64(n)/plain.Seconds(), "plain-consumer-events/s")
}

// BenchmarkAlertLatency measures the time from the append of an event that
// crosses the low-balance threshold to its alert on the ALERTS stream, with
// the engine caught up and 1,000 teams known.
func BenchmarkAlertLatency(b *testing.B) {
	js := benchJS(b)
	fold, err := rules.New(allRules())
	require.NoError(b, err)
	eng := engine.New(js, engine.Options{Fold: fold, Defaults: allRules(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	defer func() { cancel(); <-done }()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range benchTeams {
		subject, ev := benchEvent(i, t0)
		_, err := eventlog.Append(b.Context(), js, subject, ev, nil)
		require.NoError(b, err)
	}

	var mu sync.Mutex
	arrived := map[uint64]time.Time{} // source sequence -> alert received
	alerts, err := js.OrderedConsumer(b.Context(), eventlog.AlertsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"alerts.*.*.low_balance"}})
	require.NoError(b, err)
	cc, err := alerts.Consume(func(m jetstream.Msg) {
		ev, err := eventlog.Decode(m.Data())
		if err == nil {
			mu.Lock()
			arrived[ev.GetAlert().GetSourceSequence()] = time.Now()
			mu.Unlock()
		}
	})
	require.NoError(b, err)
	defer cc.Stop()

	var latencies []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		team := fmt.Sprintf("t%04d", (i/2)%benchTeams) // each team: re-armed, then crossed
		avail := int64(100_000)
		if i%2 == 0 { // even: back above the threshold (re-arm); odd: cross it
			avail = 900_000
		}
		ev := &v1.Event{EventId: fmt.Sprintf("l-%d", i), OrgId: "acme", TeamId: team, ServerTime: timestamppb.New(t0),
			Payload: &v1.Event_TokensAdjusted{TokensAdjusted: &v1.TokensAdjusted{Pool: &v1.PoolFigures{Available: avail, Live: 1_000_000}}}}
		sent := time.Now()
		res, err := eventlog.Append(b.Context(), js, eventlog.LedgerSubject("acme", team), ev, nil)
		require.NoError(b, err)
		if i%2 == 0 {
			continue
		}
		var at time.Time
		require.Eventually(b, func() bool {
			mu.Lock()
			defer mu.Unlock()
			at = arrived[res.Sequence]
			return !at.IsZero()
		}, 10*time.Second, 50*time.Microsecond)
		latencies = append(latencies, at.Sub(sent))
	}
	b.StopTimer()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	p := func(q float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}
