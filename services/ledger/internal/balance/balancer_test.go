package balance

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// interval stands for -balance-interval: each Step of the tests is one.
const interval = 500 * time.Millisecond

// cluster starts three NATS nodes with LEDGER and USAGE in three R3
// partitions (six partition streams) and returns the ledger's JetStream,
// the admin's, and the servers.
func cluster(t *testing.T) (ledger, admin jetstream.JetStream, nodes []*server.Server) {
	t.Helper()
	urls, nodes := testkit.NATSClusterNodes(t, 3)
	admin, err := jetstream.New(testkit.Connect(t, urls, "admin"))
	require.NoError(t, err)
	require.NoError(t, eventlog.Provision(t.Context(), admin, eventlog.StreamOptions{Replicas: 3, Partitions: 3}))
	ledger, err = jetstream.New(testkit.Connect(t, urls, "ledger"))
	require.NoError(t, err)
	return ledger, admin, nodes
}

// leadAllFrom makes node lead every partition stream, as after restarts.
func leadAllFrom(t *testing.T, js jetstream.JetStream, node string) {
	t.Helper()
	require.Eventually(t, func() bool {
		streams, err := View(t.Context(), js)
		if err != nil || len(streams) != 6 {
			return false
		}
		all := true
		for _, s := range streams {
			if s.Leader != node {
				all = false
				_ = StepDown(t.Context(), js, s.Name, node) // an election may be running: the next round retries
			}
		}
		return all
	}, 30*time.Second, interval)
}

// counts are the partition streams each node leads, per group and overall
// (""); nil while one has no leader or its info does not answer (as just
// after a move).
func counts(js jetstream.JetStream) map[string]map[string]int {
	streams, err := View(context.Background(), js)
	if err != nil {
		return nil
	}
	out := map[string]map[string]int{"": {}, "LEDGER": {}, "USAGE": {}}
	for _, s := range streams {
		if s.Leader == "" {
			return nil
		}
		out[""][s.Leader]++
		out[s.Group][s.Leader]++
	}
	return out
}

// settle steps b until it makes no move on an all-led view that holds,
// and returns the moves made.
func settle(t *testing.T, b *Balancer, holds func(map[string]map[string]int) bool) []Move {
	t.Helper()
	var made []Move
	require.Eventually(t, func() bool {
		m, ok, err := b.Step(t.Context())
		if ok {
			made = append(made, m)
		}
		c := counts(b.js)
		return err == nil && !ok && c != nil && holds(c)
	}, time.Minute, interval, "moves so far: %v", made)
	return made
}

// steps runs n intervals of b and returns the moves made.
func steps(t *testing.T, b *Balancer, n int) []Move {
	t.Helper()
	var made []Move
	for range n {
		if m, ok, err := b.Step(t.Context()); err == nil && ok {
			made = append(made, m)
		}
		<-time.After(interval) // the interval the balancer waits between looks
	}
	return made
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Six partition leaders all on one node: a replica that is not the ring's
// first moves nothing; the first spreads them 2/2/2 (one of each group per
// node) in one move per stream that had to move, then makes no more.
func TestBalancerSpreadsLeadersThenStops(t *testing.T) {
	ledger, admin, _ := cluster(t)
	leadAllFrom(t, admin, "tm-0")

	require.Empty(t, steps(t, New(ledger, func() bool { return false }, quiet()), 3), "a replica not first in the ring")
	require.Equal(t, 6, counts(ledger)[""]["tm-0"])

	b := New(ledger, func() bool { return true }, quiet())
	made := settle(t, b, func(c map[string]map[string]int) bool {
		return len(c["LEDGER"]) == 3 && len(c["USAGE"]) == 3
	})
	require.Len(t, made, 4, "two streams of each group leave tm-0, one at a time: %v", made)
	require.Equal(t, map[string]int{"tm-0": 2, "tm-1": 2, "tm-2": 2}, counts(ledger)[""])
	require.Empty(t, steps(t, b, 4), "balanced: no more moves")
}

// A node down gets no leader: the balancer spreads over the two left.
func TestBalancerSkipsADownNode(t *testing.T) {
	ledger, admin, nodes := cluster(t)
	leadAllFrom(t, admin, "tm-0")
	nodes[2].Shutdown()
	require.Eventually(t, func() bool {
		streams, err := View(t.Context(), ledger)
		if err != nil {
			return false
		}
		for _, s := range streams {
			for _, n := range s.Current {
				if n == "tm-2" {
					return false
				}
			}
		}
		return true
	}, 30*time.Second, interval, "tm-2 seen down")

	b := New(ledger, func() bool { return true }, quiet())
	made := settle(t, b, func(c map[string]map[string]int) bool {
		return c[""]["tm-0"] == 3 && c[""]["tm-1"] == 3
	})
	for _, m := range made {
		require.NotEqual(t, "tm-2", m.To, "%v", made)
	}
	require.Empty(t, steps(t, b, 3))
	require.Zero(t, counts(ledger)[""]["tm-2"])
}
