package chaos

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var clusterDuration = flag.Duration("cluster.duration", 0,
	"run the cluster's full schedule for this long (default $CLUSTER_DURATION; 0: the short schedule of make test)")

// clusterLayout is TestClusterChaos's stack: three NATS nodes with every
// stream and bucket on all three, LEDGER and USAGE in three partitions, two
// reporting replicas projecting into the dev ClickHouse cluster (2 shards ×
// 2 replicas, each replica a proc to kill), the ledgers spreading the
// partitions' leaders every 2 s.
var clusterLayout = stackConfig{natsNodes: 3, reporting: 2, partitions: 3, clickhouse: clusterClickHouse, balanceInterval: 2 * time.Second}

// clusterRate is the cluster run's launches a second: nine processes share
// two cores with the test.
const clusterRate = 100

// TestClusterChaos kills, one at a time under load, a NATS node (the one
// leading the busiest LEDGER stream), a ledger replica, the reporting replica projecting
// LEDGER and a ClickHouse replica, each with SIGKILL and started again;
// then no authorized charge may be lost or doubled, no pool below zero,
// ClickHouse (through its Distributed tables) equal to the ledger per team,
// no (stream_part, seq) stored twice in a table, both replicas of each shard
// holding the same rows (the killed one caught up), no call hanging to its
// deadline (DESIGN's invariant 9: a dependency down
// gives a prompt retryable error), every stream replicated on every node and
// current, the streams' leaders on more than one node and the leaders of
// LEDGER's partitions, and of USAGE's, on min(3, partitions) nodes each.
func TestClusterChaos(t *testing.T) {
	skipWithoutCluster(t)
	full := durationOf(t, *clusterDuration, "CLUSTER_DURATION")
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	bin := buildAll(t)
	phase("built")
	s := startStack(t, bin, clusterLayout)
	phase("started")
	s.seed(tokens, users)
	phase("seeded")
	steps, loadFor := clusterPlan(full, len(s.ch.replicas))

	l := newLoad(t, s.ingestion.addr, users)
	loadCtx, stopLoad := context.WithTimeout(t.Context(), loadFor)
	defer stopLoad()
	launchers := l.run(loadCtx, workers, clusterRate)
	start := time.Now()
	outages := s.inTurn(t, steps, start)
	<-loadCtx.Done()
	launchers.Wait()
	answers := l.all()
	phase("load done")

	sum := summary{outages: outages, answers: answers, loadFor: time.Since(start)}
	t.Run("ledger", func(t *testing.T) {
		log := readLedger(t, s)
		checkLedger(t, s, answers, log)
		sum.ledgerSeq = log.last
		t.Run("clickhouse", func(t *testing.T) { checkClickHouse(t, s.ch.reader(t), log) })
	})
	for _, o := range outages {
		t.Run("no-hang-"+o.p.name, func(t *testing.T) {
			if !assert.Zero(t, figuresOf(o, answers).timeouts, "calls that hung to their deadline while %s was down", o.p.name) {
				logHung(t, o, answers)
			}
		})
	}
	if c := s.ch.cluster; c != nil {
		t.Run("clickhouse-cluster", func(t *testing.T) { checkClusterClickHouse(t, c) })
	}
	t.Run("replication", func(t *testing.T) { sum.leaders = checkReplication(t, s) })
	phase("checked")
	sum.print(t)
	s.keepLogs(t, began)
}

// durationOf is the full schedule's length from flag or else the
// environment variable env; 0 is the short schedule.
func durationOf(t *testing.T, flag time.Duration, env string) time.Duration {
	if flag != 0 {
		return flag
	}
	if v := os.Getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, env)
		return d
	}
	return 0
}

// inTurn runs the steps one after another: each kill waits for its offset
// from start and for the component killed before it to be back, so that
// never two are down at once.
func (s *stack) inTurn(t *testing.T, steps []step, start time.Time) []outage {
	var outages []outage
	for _, st := range steps {
		time.Sleep(time.Until(start.Add(st.at)))
		o, err := bounce(st.pick(s), st.down)
		if err != nil {
			t.Error(err)
			break
		}
		outages = append(outages, o)
	}
	return outages
}
