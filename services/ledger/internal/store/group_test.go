package store

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// replicated returns a connection to a three-node cluster whose streams are
// replicated on all three, where group commits pay (batchesPay).
func replicated(t *testing.T) func() jetstream.JetStream {
	t.Helper()
	urls := testkit.NATSCluster(t, 3)
	return func() jetstream.JetStream {
		nc, err := nats.Connect(urls, testkit.Options(t, urls, "ledger")...)
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{Replicas: 3}, eventlog.LedgerStream))
		return js
	}
}

// queued waits until n requests wait in the pool's queue.
func queued(t *testing.T, e *entry, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		e.queue.mu.Lock()
		defer e.queue.mu.Unlock()
		return len(e.queue.pending)-e.queue.head == n
	}, 10*time.Second, time.Millisecond)
}

// launchAll starts a launch per user on s, each from its own goroutine, and
// returns a function that waits for them and gives their outcomes.
func launchAll(t *testing.T, s *Store, cat *pool.Catalog, users []int) func() map[string]pool.Outcome {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]pool.Outcome{}
	for _, u := range users {
		wg.Go(func() {
			id := fmt.Sprintf("launch-u%d", u)
			o, err := launch(t.Context(), s, cat, id, fmt.Sprintf("u%d", u))
			if err != nil {
				t.Errorf("%s: %v", id, err)
				return
			}
			mu.Lock()
			out[id] = o
			mu.Unlock()
		})
	}
	return func() map[string]pool.Outcome { wg.Wait(); return out }
}

// logged reads the pool's subject: each event by id, and the sequences.
func logged(t *testing.T, s *Store) (map[string]eventlog.Stored, []uint64) {
	t.Helper()
	byID := map[string]eventlog.Stored{}
	var seqs []uint64
	_, err := eventlog.ReadSubject(t.Context(), s.js, eventlog.LedgerStream, eventlog.LedgerSubject("acme", "design"), 0, func(st eventlog.Stored) error {
		require.NotContains(t, byID, st.Event.GetEventId(), "event %s appended twice", st.Event.GetEventId())
		byID[st.Event.GetEventId()] = st
		seqs = append(seqs, st.Sequence)
		return nil
	})
	require.NoError(t, err)
	return byID, seqs
}

// Decisions that queue up while the pool is busy are appended as one atomic
// batch: each decided on the state the ones before it left (the burn-down
// runs through them, the last ones are denied), stored contiguously, and
// every caller gets the answer the log holds.
func TestGroupCommit(t *testing.T) {
	conn := replicated(t)
	s := New(conn(), slog.Default())
	seed(t, s, 55, 8) // pays 5 charges of 10
	cat := revitCatalog()
	e := s.entry("acme", "design")

	e.lock <- struct{}{} // the pool is busy: everyone queues
	wait := launchAll(t, s, cat, []int{0, 1, 2, 3, 4, 5, 6, 7})
	queued(t, e, 7) // the eighth caller serves, and waits for the lock
	<-e.lock
	answers := wait()

	grouped, regrouped := s.GroupStats()
	require.EqualValues(t, 7, grouped, "the seven that queued went as one group")
	require.Zero(t, regrouped)

	byID, _ := logged(t, s)
	var charged, denied int
	for id, o := range answers {
		st, ok := byID[id]
		require.True(t, ok, "%s answered but not in the log", id)
		if wc := st.Event.GetWindowCharged(); wc != nil {
			charged++
			require.Equal(t, v1.Decision_DECISION_AUTHORIZED, o.Decision, id)
			require.Equal(t, wc.GetPool().GetAvailable(), o.BalanceAfter, id)
		} else {
			denied++
			require.Equal(t, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, st.Event.GetLaunchDenied().GetReason(), id)
			require.Equal(t, v1.Decision_DECISION_DENIED, o.Decision, id)
		}
	}
	require.Equal(t, 5, charged)
	require.Equal(t, 3, denied)
	fresh := New(conn(), slog.Default())
	require.NoError(t, fresh.Read(t.Context(), "acme", "design", func(p *pool.Pool) { require.EqualValues(t, 5, p.Available()) }))
	require.NoError(t, s.Read(t.Context(), "acme", "design", func(p *pool.Pool) { require.EqualValues(t, 5, p.Available()) }))
}

// On a single-replica file stream, where nats-server stages an atomic batch
// in a file store of its own, queued decisions are appended one by one.
func TestNoGroupCommitOnSingleReplicaFileStream(t *testing.T) {
	url, _ := testkit.NATS(t)
	s := New(connect(t, url), slog.Default())
	seed(t, s, 55, 8)
	e := s.entry("acme", "design")
	e.lock <- struct{}{}
	wait := launchAll(t, s, revitCatalog(), []int{0, 1, 2, 3})
	queued(t, e, 3)
	<-e.lock
	require.Len(t, wait(), 4)
	grouped, regrouped := s.GroupStats()
	require.Zero(t, grouped)
	require.Zero(t, regrouped)
}

// A group decided on stale state (another replica appended meanwhile) is
// refused as a whole; its decisions are made again one by one from the log,
// so nothing is charged twice and every answer is the log's.
func TestGroupCommitRefusedOnConflict(t *testing.T) {
	conn := replicated(t)
	s := New(conn(), slog.Default())
	other := New(conn(), slog.Default())
	seed(t, s, 55, 8)
	cat := revitCatalog()
	e := s.entry("acme", "design")

	// Five launches queue on s's pool, as its cached state stands.
	outcomes := make([]pool.Outcome, 5)
	requests := make([]*request, 5)
	for i := range requests {
		id, user := fmt.Sprintf("launch-u%d", i), fmt.Sprintf("u%d", i)
		requests[i] = newRequest(t.Context(), t0, func(p *pool.Pool) ([]*v1.Event, error) {
			o, ev := p.DecideLaunch(pool.Launch{EventID: id, User: user, Product: "REVIT", At: t0}, cat)
			outcomes[i] = o
			if ev == nil {
				return nil, nil
			}
			return []*v1.Event{ev}, nil
		})
		e.queue.push(requests[i])
	}
	// Meanwhile another replica charges u1 (one of the group) and u7.
	for _, u := range []int{1, 7} {
		_, err := launch(t.Context(), other, cat, fmt.Sprintf("launch-u%d", u), fmt.Sprintf("u%d", u))
		require.NoError(t, err)
	}
	s.lead(e)
	for i, r := range requests {
		require.NoError(t, <-r.done, i)
	}

	grouped, regrouped := s.GroupStats()
	require.EqualValues(t, 5, regrouped, "the stale group was refused and decided again")
	require.Zero(t, grouped)
	byID, _ := logged(t, s)
	var charged int
	for _, st := range byID {
		if st.Event.GetWindowCharged() != nil {
			charged++
		}
	}
	require.Equal(t, 5, charged, "five charges of 10 and no more")
	for i, o := range outcomes {
		st := byID[fmt.Sprintf("launch-u%d", i)]
		require.Equal(t, st.Event.GetWindowCharged() != nil, o.Decision == v1.Decision_DECISION_AUTHORIZED, i)
		if wc := st.Event.GetWindowCharged(); wc != nil {
			require.Equal(t, wc.GetPool().GetAvailable(), o.BalanceAfter, i)
		}
	}
	require.NoError(t, s.Read(t.Context(), "acme", "design", func(p *pool.Pool) { require.EqualValues(t, 5, p.Available()) }))
}

// A group records the budget crossings each of its decisions causes, at that
// decision's time and spend, as one decision at a time does: u0's daily
// budget of 10 is spent at 23:59:59, and a launch by u1 at 00:00:01 the next
// day is in the same group.
func TestGroupCommitRecordsEachCrossing(t *testing.T) {
	crossings := func(t *testing.T, grouped bool) []*v1.BudgetCrossed {
		s := New(replicated(t)(), slog.Default())
		seed(t, s, 1000, 2)
		require.NoError(t, s.Decide(t.Context(), "acme", "design", t0, func(p *pool.Pool) ([]*v1.Event, error) {
			ev, err := p.DecideSetBudget("budget-set", &v1.Budget{BudgetId: "b0", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "u0",
				LimitTokens: 10, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}, t0, nil)
			return []*v1.Event{ev}, err
		}))
		cat := revitCatalog()
		launch := func(id, user string, at time.Time) *request {
			return newRequest(t.Context(), at, func(p *pool.Pool) ([]*v1.Event, error) {
				_, ev := p.DecideLaunch(pool.Launch{EventID: id, User: user, Product: "REVIT", At: at}, cat)
				if ev == nil {
					return nil, nil
				}
				return []*v1.Event{ev}, nil
			})
		}
		midnight := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
		requests := []*request{launch("l-u0", "u0", midnight.Add(-time.Second)), launch("l-u1", "u1", midnight.Add(time.Second))}
		e := s.entry("acme", "design")
		if grouped {
			for _, r := range requests {
				e.queue.push(r)
			}
			s.lead(e)
		} else {
			for _, r := range requests {
				s.serve(e, r)
			}
		}
		for _, r := range requests {
			require.NoError(t, <-r.done)
		}
		g, _ := s.GroupStats()
		require.Equal(t, grouped, g == 2, "grouped: %d", g)
		var out []*v1.BudgetCrossed
		byID, _ := logged(t, s)
		for _, st := range byID {
			if bc := st.Event.GetBudgetCrossed(); bc != nil {
				out = append(out, bc)
			}
		}
		return out
	}
	one := crossings(t, false)
	require.Len(t, one, 1)
	require.Equal(t, "2026-03-02", one[0].GetPeriodStart())
	require.EqualValues(t, 10, one[0].GetSpent())
	group := crossings(t, true)
	require.Len(t, group, 1, "the day-1 crossing is recorded")
	require.EqualValues(t, 10, group[0].GetSpent())
	require.Equal(t, one[0].GetPeriodStart(), group[0].GetPeriodStart())
}

// A group on a pool whose log stops answering (the network drops every
// packet; the connection still looks up) answers every caller Unavailable
// within the append timeout, not after JetStream's own 5 s for its catch-up
// and then one more wait per request decided again one by one.
func TestGroupCommitBoundedByAppendTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s, proxy := proxiedStore(t, eventlog.StreamOptions{MemoryStorage: true}, timeout)
	start := launchIntoStalledLog(t, s, proxy)
	// The first caller's append, then the group's catch-up: two timeouts.
	require.Less(t, time.Since(start), 5*timeout)
	grouped, regrouped := s.GroupStats()
	require.Zero(t, grouped)
	require.Zero(t, regrouped, "a group the log did not answer is not decided again one by one")
}

// Decisions queued one by one (a file stream, where groups do not pay) on a
// pool whose log stops answering are answered Unavailable once the first of
// them found it so, not each after a timeout of its own: the last caller
// would wait one per request ahead of it, past any deadline (the cluster
// fault suite saw calls hang 5 s while a NATS node was down).
func TestQueuedDecisionsFailFastOnceTheLogFailed(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s, proxy := proxiedStore(t, eventlog.StreamOptions{}, timeout)
	require.False(t, s.entry("acme", "design").batches.Load(), "a one-replica file stream decides one by one")
	start := launchIntoStalledLog(t, s, proxy)
	require.Less(t, time.Since(start), 5*timeout, "one timeout, not one per queued decision")

	proxy.Flow()
	_, err := launch(t.Context(), s, revitCatalog(), "launch-u0", "u0")
	require.NoError(t, err, "a decision queued after the failure tries the log again")
}

// proxiedStore is a store with append timeout over a LEDGER stream made with
// opts, reached through a proxy the test can stall; acme/design is seeded
// for 8 users and loaded.
func proxiedStore(t *testing.T, opts eventlog.StreamOptions, timeout time.Duration) (*Store, *testkit.Proxy) {
	t.Helper()
	url, _ := testkit.NATS(t)
	proxy := testkit.NewProxy(t, strings.TrimPrefix(url, "nats://"))
	t.Cleanup(proxy.Flow)
	nc, err := nats.Connect("nats://"+proxy.Addr(), testkit.Options(t, url, "ledger")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, eventlog.Provision(t.Context(), js, opts, eventlog.LedgerStream))
	s := New(js, slog.Default()).WithAppendTimeout(timeout)
	seed(t, s, 1000, 8)
	return s, proxy
}

// launchIntoStalledLog queues 8 launches on acme/design, stalls the proxy,
// lets them go and requires each answered Unavailable; it returns when they
// were let go.
func launchIntoStalledLog(t *testing.T, s *Store, proxy *testkit.Proxy) time.Time {
	t.Helper()
	cat := revitCatalog()
	e := s.entry("acme", "design")
	e.lock <- struct{}{}
	errs := make(chan error, 8)
	for u := range 8 {
		go func() {
			_, err := launch(t.Context(), s, cat, fmt.Sprintf("launch-u%d", u), fmt.Sprintf("u%d", u))
			errs <- err
		}()
	}
	queued(t, e, 7)
	proxy.Stall()
	start := time.Now()
	<-e.lock
	for range 8 {
		require.ErrorIs(t, <-errs, eventlog.ErrUnavailable)
	}
	return start
}

// On a replicated partition stream a busy pool's queued decisions are one
// atomic batch on its partition's subject, as on the one LEDGER stream.
func TestGroupCommitOnAPartition(t *testing.T) {
	conn := replicated(t)
	js := conn()
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{Replicas: 3, Partitions: 3}, eventlog.LedgerStreams(3)...))
	pl, err := OpenPlacement(t.Context(), js, 3, 3)
	require.NoError(t, err)
	s := New(js, slog.Default()).WithPlacement(pl)
	seed(t, s, 55, 8)
	e := s.entry("acme", "design")
	e.lock <- struct{}{}
	wait := launchAll(t, s, revitCatalog(), []int{0, 1, 2, 3, 4, 5, 6, 7})
	queued(t, e, 7)
	<-e.lock
	require.Len(t, wait(), 8)
	grouped, regrouped := s.GroupStats()
	require.EqualValues(t, 7, grouped, "the seven that queued went as one group")
	require.Zero(t, regrouped)

	subj, stream, err := s.Place(t.Context(), "acme", "design", false)
	require.NoError(t, err)
	require.Equal(t, subject.LedgerStreamOf(subject.PartitionOf("acme", "design", 3)), stream)
	charged := 0
	_, err = eventlog.ReadSubject(t.Context(), js, stream, subj, 0, func(st eventlog.Stored) error {
		if st.Event.GetWindowCharged() != nil {
			charged++
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 5, charged, "55 tokens pay five charges of 10, on the partition's subject")
}
