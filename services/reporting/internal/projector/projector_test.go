package projector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

type env struct {
	js   jetstream.JetStream
	ch   driver.Conn
	log  *slog.Logger
	next atomic.Int64
	last uint64 // last LEDGER sequence published
}

func newEnv(t *testing.T) *env {
	t.Helper()
	url, _ := testkit.NATS(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// One connection appends as the ledger and projects as reporting: the admin.
	nc, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "admin"), "reporting-test", log,
		eventlog.Streams{Own: []string{eventlog.LedgerStream, eventlog.UsageStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	ch, _ := testkit.ClickHouse(t)
	_, err = schema.Migrate(t.Context(), ch)
	require.NoError(t, err)
	return &env{js: js, ch: ch, log: log}
}

func chargesSink(e *env) projector.Sink {
	return projector.NewClickHouseSink(e.ch, projector.Charges, subject.Unpartitioned)
}

var base = time.Date(2025, 1, 30, 9, 0, 0, 0, time.UTC)

// publish appends n events to org/team: every third is a PackAdded (which the
// projection skips), the rest WindowCharged of tokens each, one day apart so
// they cross a month (and partition) boundary. It returns the tokens charged.
func (e *env) publish(t *testing.T, org, team string, n int, tokens int64) (charged int64, charges int) {
	t.Helper()
	return e.publishOn(t, eventlog.LedgerSubject(org, team), org, team, n, tokens)
}

// publishOn is publish on subject subj (a partition's, for one).
func (e *env) publishOn(t *testing.T, subj, org, team string, n int, tokens int64) (charged int64, charges int) {
	t.Helper()
	for range n {
		i := e.next.Add(1)
		at := base.Add(time.Duration(i) * 24 * time.Hour)
		ev := &v1.Event{
			EventId:    fmt.Sprintf("ev-%s-%d", org, i),
			OrgId:      org,
			TeamId:     team,
			ServerTime: timestamppb.New(at),
		}
		if i%3 == 0 {
			ev.Payload = &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: fmt.Sprint("p", i), Tokens: 1000}}
		} else {
			ev.Payload = &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
				UserId: fmt.Sprint("user-", i%4), ProductCode: "REVIT", ProductGroup: "AEC",
				WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(24 * time.Hour)),
				Tokens:     tokens,
				Split:      []*v1.PackSplit{{PackId: "p-a", Tokens: tokens - 1}, {PackId: "p-b", Tokens: 1}},
				Attributes: map[string]string{"project": fmt.Sprint("prj-", i%2)},
			}}
			charged += tokens
			charges++
		}
		app, err := eventlog.Append(t.Context(), e.js, subj, ev, nil)
		require.NoError(t, err)
		e.last = app.Sequence
	}
	return charged, charges
}

// run starts a projector on sink and returns it with a stop function that
// waits for Run to return.
func (e *env) run(t *testing.T, sink projector.Sink) (*projector.Projector, func()) {
	t.Helper()
	p, err := projector.New(e.js, projector.Charges, sink, e.log, projector.Options{
		BatchSize: 7, FlushInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return p, stop
}

func (e *env) waitCaughtUp(t *testing.T, p *projector.Projector) {
	t.Helper()
	require.Eventually(t, func() bool { return p.CaughtUpTo() >= e.last },
		10*time.Second, 5*time.Millisecond, "projector stuck at %d, want %d", p.CaughtUpTo(), e.last)
}

type totals struct {
	Rows, DistinctSeqs, DistinctEvents uint64
	Tokens                             int64
	DailyTokens                        int64
	DailyCharges                       uint64
}

func (e *env) totals(t *testing.T) totals {
	t.Helper()
	var tt totals
	require.NoError(t, e.ch.QueryRow(t.Context(),
		"SELECT count(), uniqExact(seq), uniqExact(event_id), sum(tokens) FROM charges_v2").
		Scan(&tt.Rows, &tt.DistinctSeqs, &tt.DistinctEvents, &tt.Tokens))
	require.NoError(t, e.ch.QueryRow(t.Context(),
		"SELECT sum(tokens), sum(charges) FROM usage_daily_v2").Scan(&tt.DailyTokens, &tt.DailyCharges))
	return tt
}

func (e *env) requireTotals(t *testing.T, tokens int64, charges int) {
	t.Helper()
	got := e.totals(t)
	n := uint64(charges)
	require.Equal(t, totals{Rows: n, DistinctSeqs: n, DistinctEvents: n, Tokens: tokens,
		DailyTokens: tokens, DailyCharges: n}, got)
}

func TestProjectorProjectsChargesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokens, charges := e.publish(t, "acme", "design", 30, 10)

	p, stop := e.run(t, chargesSink(e))
	e.waitCaughtUp(t, p)
	e.requireTotals(t, tokens, charges)

	// Live events while it runs.
	more, moreCharges := e.publish(t, "acme", "ops", 10, 7)
	e.waitCaughtUp(t, p)
	tokens, charges = tokens+more, charges+moreCharges
	e.requireTotals(t, tokens, charges)
	stop()

	// A new instance resumes after max(seq): nothing counted twice, new events counted.
	more, moreCharges = e.publish(t, "acme", "design", 11, 9)
	tokens, charges = tokens+more, charges+moreCharges
	p2, _ := e.run(t, chargesSink(e))
	e.waitCaughtUp(t, p2)
	e.requireTotals(t, tokens, charges)

	// A third start with nothing new projects nothing.
	p3, _ := e.run(t, chargesSink(e))
	e.waitCaughtUp(t, p3)
	e.requireTotals(t, tokens, charges)
}

func TestProjectorStoresEveryField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish(t, "acme", "design", 1, 10)
	p, _ := e.run(t, chargesSink(e))
	e.waitCaughtUp(t, p)

	var got projector.Row
	require.NoError(t, e.ch.QueryRow(t.Context(), `SELECT seq, event_id, org_id, team_id, user_id, product_code,
		product_group, day, charged_at, window_start, window_end, tokens, renewal,
		split_pack_ids, split_tokens, attribute_keys, attribute_values FROM charges_v2`).Scan(
		&got.Seq, &got.EventID, &got.OrgID, &got.TeamID, &got.UserID, &got.ProductCode,
		&got.ProductGroup, &got.Day, &got.ChargedAt, &got.WindowStart, &got.WindowEnd, &got.Tokens, &got.Renewal,
		&got.SplitPackIDs, &got.SplitTokens, &got.AttributeKeys, &got.AttributeValues))
	at := base.Add(24 * time.Hour)
	require.Equal(t, uint64(1), got.Seq)
	require.Equal(t, "ev-acme-1", got.EventID)
	require.Equal(t, []string{"acme", "design", "user-1", "REVIT", "AEC"},
		[]string{got.OrgID, got.TeamID, got.UserID, got.ProductCode, got.ProductGroup})
	require.Equal(t, "2025-01-31", got.Day.Format("2006-01-02"))
	require.True(t, at.Equal(got.ChargedAt), "charged_at %s", got.ChargedAt)
	require.True(t, at.Equal(got.WindowStart))
	require.True(t, at.Add(24*time.Hour).Equal(got.WindowEnd))
	require.Equal(t, int64(10), got.Tokens)
	require.Equal(t, []string{"p-a", "p-b"}, got.SplitPackIDs)
	require.Equal(t, []int64{9, 1}, got.SplitTokens)
	require.Equal(t, []string{"project"}, got.AttributeKeys)
	require.Equal(t, []string{"prj-1"}, got.AttributeValues)
}

// crashingSink inserts blocks into ClickHouse and then fails the first
// failAfter of them, as a projector that crashed after ClickHouse took a block
// but before it learnt so. failBefore fails blocks without inserting them.
// It also checks that no block spans partitions.
type crashingSink struct {
	projector.Sink
	t          *testing.T
	failAfter  atomic.Int32
	failBefore atomic.Int32
	blocks     atomic.Int32
}

func (s *crashingSink) Insert(ctx context.Context, rows []projector.Record) error {
	for _, r := range rows[1:] {
		if r.Partition() != rows[0].Partition() {
			s.t.Errorf("block spans partitions %d and %d", rows[0].Partition(), r.Partition())
		}
	}
	if s.failBefore.Add(-1) >= 0 {
		return errors.New("clickhouse unreachable")
	}
	if err := s.Sink.Insert(ctx, rows); err != nil {
		return err
	}
	s.blocks.Add(1)
	if s.failAfter.Add(-1) >= 0 {
		return errors.New("connection reset after the block was sent")
	}
	return nil
}

func TestProjectorCrashAfterInsertDoesNotDoubleCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokens, charges := e.publish(t, "acme", "design", 60, 10)

	sink := &crashingSink{Sink: chargesSink(e), t: t}
	sink.failAfter.Store(3)
	sink.failBefore.Store(2)
	p, _ := e.run(t, sink)
	e.waitCaughtUp(t, p)
	e.requireTotals(t, tokens, charges)
	require.Less(t, sink.failAfter.Load(), int32(0), "every injected failure happened")
	require.Less(t, sink.failBefore.Load(), int32(0))
}

func TestProjectorRestartAfterInsertWithoutCheckpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokens, charges := e.publish(t, "acme", "design", 20, 10)

	// The first projector lands its blocks, then "dies": it stopped right
	// after inserting, before recording anything anywhere else.
	p, stop := e.run(t, chargesSink(e))
	e.waitCaughtUp(t, p)
	stop()

	// A replacement knows nothing but what ClickHouse holds.
	more, moreCharges := e.publish(t, "acme", "design", 20, 10)
	p2, _ := e.run(t, chargesSink(e))
	e.waitCaughtUp(t, p2)
	e.requireTotals(t, tokens+more, charges+moreCharges)
}

func TestProjectorStopFlushesBlockInHand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.next.Store(10) // start on 10 Feb: every row in one partition, one block
	tokens, charges := e.publish(t, "acme", "design", 5, 10)

	p, err := projector.New(e.js, projector.Charges, chargesSink(e), e.log, projector.Options{
		BatchSize: 1000, FlushInterval: time.Hour, // only the stop can flush
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	require.Eventually(t, func() bool { return p.ReadTo() == e.last }, 10*time.Second, 5*time.Millisecond)
	require.Less(t, p.CaughtUpTo(), e.last, "rows wait in the buffer")
	e.requireTotals(t, 0, 0)

	cancel()
	require.NoError(t, <-done)
	require.Equal(t, e.last, p.CaughtUpTo())
	e.requireTotals(t, tokens, charges)
}
