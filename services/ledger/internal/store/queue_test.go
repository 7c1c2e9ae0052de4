package store

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Many callers on ONE pool, through three replicas with several goroutines
// each, every launch sent twice (by two replicas): each event id is appended
// once, the pool never goes below zero, the charges are exactly what the
// packs lost, and every caller got the answer the log holds.
//
// On a single-replica stream the decisions are appended one by one; on a
// stream replicated over three servers, those that queue up on the busy pool
// go as group commits, which must keep every one of these properties.
func TestConcurrentLaunchesOnOnePool(t *testing.T) {
	t.Run("single-replica", func(t *testing.T) {
		url, _ := testkit.NATS(t)
		concurrentLaunchesOnOnePool(t, func() jetstream.JetStream { return connect(t, url) }, false)
	})
	t.Run("replicated", func(t *testing.T) {
		concurrentLaunchesOnOnePool(t, replicated(t), true)
	})
}

func concurrentLaunchesOnOnePool(t *testing.T, conn func() jetstream.JetStream, groups bool) {
	// What is tested is the outcome of concurrent decisions, not their time:
	// a replicated stream on a busy machine may take over the 1-s default
	// to acknowledge, which would answer some Unavailable (their own tests).
	replicas := make([]*Store, 3)
	for i := range replicas {
		replicas[i] = New(conn(), slog.Default()).WithAppendTimeout(10 * time.Second)
	}
	const users, perReplica = 90, 6
	seed(t, replicas[0], 305, users) // pays 30 charges of 10, 5 left over
	require.NoError(t, replicas[0].Decide(t.Context(), "acme", "design", t0, func(p *pool.Pool) ([]*v1.Event, error) {
		ev, err := p.DecideAddPack(pool.AddPack{EventID: "pack-2", PackID: "p2", Tokens: 100, At: t0})
		return []*v1.Event{ev}, err
	})) // a second pack: the burn-down spans packs (40 charges in all)
	cat := revitCatalog()

	type answer struct {
		id  string
		out pool.Outcome
	}
	var mu sync.Mutex
	var answers []answer
	var wg sync.WaitGroup
	for r, s := range replicas {
		for g := range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Launch u is sent by replicas u%3 and (u+1)%3, by one goroutine of each.
				for u := g; u < users; u += perReplica {
					if u%3 != r && (u+1)%3 != r {
						continue
					}
					id := fmt.Sprintf("launch-u%d", u)
					o, err := launch(t.Context(), s, cat, id, fmt.Sprintf("u%d", u))
					if err != nil {
						t.Errorf("replica %d %s: %v", r, id, err)
						return
					}
					mu.Lock()
					answers = append(answers, answer{id, o})
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	require.Len(t, answers, 2*users)

	// The log is the truth: read it and compare.
	logged := map[string]*v1.Event{}
	lost := map[string]int64{}
	var charges int64
	_, err := eventlog.ReadSubject(t.Context(), replicas[0].js, eventlog.LedgerStream, eventlog.LedgerSubject("acme", "design"), 0, func(st eventlog.Stored) error {
		id := st.Event.GetEventId()
		require.NotContains(t, logged, id, "event %s appended twice", id)
		logged[id] = st.Event
		if wc := st.Event.GetWindowCharged(); wc != nil {
			require.GreaterOrEqual(t, wc.GetPool().GetAvailable(), int64(0))
			charges += wc.GetTokens()
			var split int64
			for _, part := range wc.GetSplit() {
				lost[part.GetPackId()] += part.GetTokens()
				split += part.GetTokens()
			}
			require.Equal(t, wc.GetTokens(), split, "%s: the split adds up to the charge", id)
		}
		return nil
	})
	require.NoError(t, err)
	require.EqualValues(t, 400, charges, "40 charges of 10")

	for _, a := range answers {
		ev, ok := logged[a.id]
		require.True(t, ok, "%s answered but not in the log", a.id)
		if wc := ev.GetWindowCharged(); wc != nil {
			require.Equal(t, v1.Decision_DECISION_AUTHORIZED, a.out.Decision, a.id)
			require.Equal(t, wc.GetTokens(), a.out.Tokens, a.id)
			require.Equal(t, wc.GetPool().GetAvailable(), a.out.BalanceAfter, a.id)
			continue
		}
		require.NotNil(t, ev.GetLaunchDenied(), a.id)
		require.Equal(t, v1.Decision_DECISION_DENIED, a.out.Decision, a.id)
		require.Equal(t, ev.GetLaunchDenied().GetReason(), a.out.DenyReason, a.id)
	}

	fresh := New(conn(), slog.Default())
	require.NoError(t, fresh.Read(t.Context(), "acme", "design", func(p *pool.Pool) {
		require.EqualValues(t, 5, p.Available())
		for _, pk := range p.Packs() {
			require.Equal(t, lost[pk.ID], pk.Tokens-pk.Remaining, "pack %s lost what was charged to it", pk.ID)
		}
	}))
	var grouped, regrouped uint64
	for _, r := range replicas {
		g, rg := r.GroupStats()
		grouped, regrouped = grouped+g, regrouped+rg
	}
	t.Logf("decisions group-committed: %d; in refused groups, decided again: %d", grouped, regrouped)
	if groups {
		require.Positive(t, grouped+regrouped, "decisions queued on the busy pool went as groups")
	} else {
		require.Zero(t, grouped+regrouped)
	}
}

// The queue hands requests out in arrival order whether it drains between
// pushes or never does (its array then compacts instead of growing), and
// says when it is idle again.
func TestQueueOrder(t *testing.T) {
	var q queue
	reqs := make([]*request, 100)
	for i := range reqs {
		reqs[i] = &request{}
	}
	require.True(t, q.push(reqs[0]), "an idle queue is served by the pusher")
	require.Same(t, reqs[0], q.next())
	require.Nil(t, q.next())
	require.True(t, q.push(reqs[1]), "idle again once next found it empty")

	// Never drained: two in, one out, over and over.
	want, in := 1, 2
	for in < len(reqs) {
		require.False(t, q.push(reqs[in]))
		in++
		if in < len(reqs) {
			require.False(t, q.push(reqs[in]))
			in++
		}
		require.Same(t, reqs[want], q.next())
		want++
		require.True(t, q.more())
	}
	for ; want < len(reqs); want++ {
		require.Same(t, reqs[want], q.next())
	}
	require.LessOrEqual(t, cap(q.pending), 64, "served slots are reused")
	require.False(t, q.more(), "drained: idle")
	require.True(t, q.push(reqs[0]))
}
