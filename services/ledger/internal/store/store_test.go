package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, testkit.Options(t, url, "ledger")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{}, eventlog.LedgerStream))
	return js
}

func revitCatalog() *pool.Catalog {
	c := pool.NewCatalog()
	c.Apply(&v1.Event{Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{
		ProductCode: "REVIT", DailyRate: 10, EffectiveFrom: timestamppb.New(t0.Add(-time.Hour))}}})
	return c
}

func seed(t *testing.T, s *Store, tokens int64, users int) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, s.Decide(ctx, "acme", "design", t0, func(p *pool.Pool) ([]*v1.Event, error) {
		ev, err := p.DecideAddPack(pool.AddPack{EventID: "pack-1", PackID: "p1", Tokens: tokens, At: t0})
		return []*v1.Event{ev}, err
	}))
	for u := 0; u < users; u++ {
		require.NoError(t, s.Decide(ctx, "acme", "design", t0, func(p *pool.Pool) ([]*v1.Event, error) {
			ev, err := p.DecideAssign(fmt.Sprintf("assign-%d", u), fmt.Sprintf("u%d", u), []string{"*"}, t0, nil)
			return []*v1.Event{ev}, err
		}))
	}
}

func launch(ctx context.Context, s *Store, cat *pool.Catalog, id, user string) (pool.Outcome, error) {
	var out pool.Outcome
	err := s.Decide(ctx, "acme", "design", t0, func(p *pool.Pool) ([]*v1.Event, error) {
		o, ev := p.DecideLaunch(pool.Launch{EventID: id, User: user, Product: "REVIT", At: t0}, cat)
		out = o
		if ev == nil {
			return nil, nil
		}
		return []*v1.Event{ev}, nil
	})
	return out, err
}

// Three replicas race on one small pool with duplicated event ids: the pool
// never overdraws, each event id is charged once, and the denials are exactly
// the launches the pool could not pay.
func TestReplicasRaceOnOnePool(t *testing.T) {
	url, _ := testkit.NATS(t)
	replicas := []*Store{New(connect(t, url), slog.Default()), New(connect(t, url), slog.Default()), New(connect(t, url), slog.Default())}
	seed(t, replicas[0], 205, 60) // pays 20 charges of 10, with 5 left over
	cat := revitCatalog()

	const users = 60
	var wg sync.WaitGroup
	outcomes := make([][]pool.Outcome, 3)
	for r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := 0; u < users; u++ {
				// Every replica sends every user's launch: each event id three times.
				o, err := launch(t.Context(), replicas[r], cat, fmt.Sprintf("launch-u%d", u), fmt.Sprintf("u%d", u))
				if err != nil {
					t.Errorf("replica %d launch u%d: %v", r, u, err)
					return
				}
				outcomes[r] = append(outcomes[r], o)
			}
		}()
	}
	wg.Wait()

	// Every replica gave the same answer to the same event id.
	for u := 0; u < users; u++ {
		require.Equal(t, outcomes[0][u].Decision, outcomes[1][u].Decision, "u%d", u)
		require.Equal(t, outcomes[0][u].Decision, outcomes[2][u].Decision, "u%d", u)
		require.Equal(t, outcomes[0][u].Tokens, outcomes[2][u].Tokens, "u%d", u)
	}

	// The log is the truth: fold it afresh and count.
	fresh := New(connect(t, url), slog.Default())
	var charged, denied int
	var charges int64
	ids := map[string]int{}
	_, err := eventlog.ReadSubject(t.Context(), fresh.js, eventlog.LedgerStream, eventlog.LedgerSubject("acme", "design"), 0, func(st eventlog.Stored) error {
		ids[st.Event.GetEventId()]++
		switch {
		case st.Event.GetWindowCharged() != nil:
			charged++
			charges += st.Event.GetWindowCharged().GetTokens()
			require.GreaterOrEqual(t, st.Event.GetWindowCharged().GetPool().GetAvailable(), int64(0))
		case st.Event.GetLaunchDenied() != nil:
			denied++
			require.Equal(t, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, st.Event.GetLaunchDenied().GetReason())
			require.Less(t, st.Event.GetLaunchDenied().GetPool().GetAvailable(), int64(10))
		}
		return nil
	})
	require.NoError(t, err)
	for id, n := range ids {
		require.Equal(t, 1, n, "event %s appended %d times", id, n)
	}
	require.Equal(t, 20, charged)
	require.Equal(t, users-20, denied)
	require.NoError(t, fresh.Read(t.Context(), "acme", "design", func(p *pool.Pool) {
		require.EqualValues(t, 5, p.Available())
		require.EqualValues(t, 205-charges, p.Available(), "the packs' losses equal the charges")
	}))
}

// A replica whose cached state is stale catches up instead of overwriting.
func TestStaleReplicaCatchesUp(t *testing.T) {
	url, _ := testkit.NATS(t)
	a, b := New(connect(t, url), slog.Default()), New(connect(t, url), slog.Default())
	seed(t, a, 25, 3)
	cat := revitCatalog()
	// b loads the pool now, then a moves it on.
	require.NoError(t, b.Read(t.Context(), "acme", "design", func(*pool.Pool) {}))
	o, err := launch(t.Context(), a, cat, "l-1", "u0")
	require.NoError(t, err)
	require.EqualValues(t, 15, o.BalanceAfter)
	o, err = launch(t.Context(), b, cat, "l-2", "u1")
	require.NoError(t, err)
	require.EqualValues(t, 5, o.BalanceAfter, "b saw a's charge before deciding")
	o, err = launch(t.Context(), a, cat, "l-3", "u2")
	require.NoError(t, err)
	require.Equal(t, v1.Decision_DECISION_DENIED, o.Decision)
	// The same event id through the other replica: the original answer.
	o, err = launch(t.Context(), b, cat, "l-1", "u0")
	require.NoError(t, err)
	require.EqualValues(t, 15, o.BalanceAfter)
	require.EqualValues(t, 10, o.Tokens)
}

// Expiries due are recorded before the decision, at their instant.
func TestDueExpiryIsRecorded(t *testing.T) {
	url, _ := testkit.NATS(t)
	s := New(connect(t, url), slog.Default())
	ctx := t.Context()
	require.NoError(t, s.Decide(ctx, "acme", "design", t0, func(p *pool.Pool) ([]*v1.Event, error) {
		ev, err := p.DecideAddPack(pool.AddPack{EventID: "pk", PackID: "p1", Tokens: 30, At: t0, ExpiresAt: t0.Add(time.Hour)})
		return []*v1.Event{ev}, err
	}))
	later := t0.Add(2 * time.Hour)
	require.NoError(t, s.Decide(ctx, "acme", "design", later, func(*pool.Pool) ([]*v1.Event, error) { return nil, nil }))
	fresh := New(connect(t, url), slog.Default())
	require.NoError(t, fresh.Read(ctx, "acme", "design", func(p *pool.Pool) {
		b := p.BalanceAt(later)
		require.EqualValues(t, 30, b.Expired)
		require.EqualValues(t, 0, p.Available())
	}))
}

// The sweep records an idle pool's expiry without waiting for a launch, only
// in the pools this replica owns.
func TestSweepRecordsIdleExpiry(t *testing.T) {
	url, _ := testkit.NATS(t)
	s := New(connect(t, url), slog.Default())
	ctx := t.Context()
	for _, team := range []string{"design", "civil"} {
		require.NoError(t, s.Decide(ctx, "acme", team, t0, func(p *pool.Pool) ([]*v1.Event, error) {
			ev, err := p.DecideAddPack(pool.AddPack{EventID: "pk-" + team, PackID: "p1", Tokens: 30, At: t0, ExpiresAt: t0.Add(time.Hour)})
			return []*v1.Event{ev}, err
		}))
	}
	pools, err := s.Pools(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, [][2]string{{"acme", "design"}, {"acme", "civil"}}, pools)

	n, err := s.Sweep(ctx, t0.Add(30*time.Minute), func(string, string) bool { return true })
	require.NoError(t, err)
	require.Zero(t, n, "nothing expired yet")
	n, err = s.Sweep(ctx, t0.Add(2*time.Hour), func(_, team string) bool { return team == "design" })
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the owned pool")

	fresh := New(connect(t, url), slog.Default())
	require.NoError(t, fresh.Read(ctx, "acme", "design", func(p *pool.Pool) { require.EqualValues(t, 30, p.BalanceAt(t0).Expired) }))
	require.NoError(t, fresh.Read(ctx, "acme", "civil", func(p *pool.Pool) { require.EqualValues(t, 0, p.BalanceAt(t0).Expired) }))
}

// The pool remembers answered event ids beyond JetStream's duplicate window:
// a redelivery after the window is still not charged again, on a fresh replica too.
func TestDuplicateAfterDedupWindow(t *testing.T) {
	url, _ := testkit.NATS(t)
	nc, err := nats.Connect(url, testkit.Options(t, url, "ledger")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{DuplicateWindow: 100 * time.Millisecond}, eventlog.LedgerStream))
	s := New(js, slog.Default())
	seed(t, s, 100, 1)
	cat := revitCatalog()
	first, err := launch(t.Context(), s, cat, "once", "u0")
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond) // let JetStream's duplicate window pass
	for _, st := range []*Store{s, New(js, slog.Default())} {
		again, err := launch(t.Context(), st, cat, "once", "u0")
		require.NoError(t, err)
		require.Equal(t, first.Tokens, again.Tokens)
		require.Equal(t, first.BalanceAfter, again.BalanceAfter)
	}
	charges := 0
	_, err = eventlog.ReadSubject(t.Context(), js, eventlog.LedgerStream, eventlog.LedgerSubject("acme", "design"), 0, func(st eventlog.Stored) error {
		if st.Event.GetWindowCharged() != nil {
			charges++
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 1, charges)
}
