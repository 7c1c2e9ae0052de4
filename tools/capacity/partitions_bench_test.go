package capacity

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

const (
	benchOrg = "acme"
	// benchPools is how many pools the appends spread over, whatever the
	// number of partitions.
	benchPools = 1000
	// callersPerPartition is how many appends are in flight at once on each
	// partition: every partition carries the same load, as when partitions
	// are added for more pools.
	callersPerPartition = 16
)

// BenchmarkPartitions: synchronous appends of charges (eventlog.Append with
// the pool subject's expected last sequence, as the ledger appends) from 16
// callers per partition spread over 1,000 pools, with LEDGER split into N = 1, 2, 4, 8
// partition streams named as libs/subject names them (LEDGER-<p>, pool
// subjects ledger.<p>.<org>.<team>, a pool's partition subject.PartitionOf),
// on one server and on a three-node cluster with R3 streams. Each line prints
// "cpu-µs/op" (process CPU per append, servers included), "op/s-per-partition"
// and "cpu-ratio-to-n1" (its CPU per append ÷ N=1's in the same run: flat
// means a partition costs the same however many there are); the cluster's
// lines print "leader-nodes", how many servers lead a partition. The ledger
// adds its decision on top of each append (internal/store
// BenchmarkDecideThousandPools, BenchmarkDurability).
func BenchmarkPartitions(b *testing.B) {
	topologies := []struct {
		name     string
		replicas int
		start    func(b *testing.B) string
	}{
		{"one-node", 1, func(b *testing.B) string { url, _ := testkit.NATS(b); return url }},
		{"three-nodes-r3", 3, func(b *testing.B) string { return testkit.NATSCluster(b, 3) }},
	}
	for _, topo := range topologies {
		b.Run(topo.name, func(b *testing.B) {
			js := adminJS(b, topo.start(b))
			var n1 time.Duration
			for _, n := range []int{1, 2, 4, 8} {
				b.Run(fmt.Sprintf("partitions-%d", n), func(b *testing.B) {
					names := provisionPartitions(b, js, n, topo.replicas)
					defer deletePartitions(b, js, names)
					op := partitionAppendOp(b, js, n)
					r, cpu := load.Measure(func() load.Result { return load.Closed(b, callersPerPartition*n, b.N, op) })
					r.Report(b, "op/s", 0)
					load.ReportCPU(b, cpu, 0)
					b.ReportMetric(r.PerSec()/float64(n), "op/s-per-partition")
					if n == 1 {
						n1 = cpu
					} else if n1 > 0 {
						b.ReportMetric(float64(cpu)/float64(n1), "cpu-ratio-to-n1")
					}
					if topo.replicas > 1 {
						b.ReportMetric(float64(leaderNodes(b, js, names)), "leader-nodes")
					}
				})
			}
		})
	}
}

// adminJS connects as the admin identity, which may make streams of any
// name (the services' grants name the streams they own).
func adminJS(b *testing.B, urls string) jetstream.JetStream {
	b.Helper()
	nc, err := nats.Connect(urls, testkit.Options(b, urls, "admin")...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return js
}

// provisionPartitions makes LEDGER-0 … LEDGER-<n-1>, each configured as
// eventlog provisions LEDGER, and returns their names.
func provisionPartitions(b *testing.B, js jetstream.JetStream, n, replicas int) []string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ledger jetstream.StreamConfig
	for _, c := range eventlog.StreamConfigs(eventlog.StreamOptions{Replicas: replicas}) {
		if c.Name == eventlog.LedgerStream {
			ledger = c
		}
	}
	names := make([]string, n)
	for p := range n {
		cfg := ledger
		cfg.Name = subject.LedgerStreamOf(p)
		cfg.Subjects = subject.StreamSubjects(cfg.Name)
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			b.Fatalf("create %s: %v", cfg.Name, err)
		}
		names[p] = cfg.Name
	}
	return names
}

func deletePartitions(b *testing.B, js jetstream.JetStream, names []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range names {
		if err := js.DeleteStream(ctx, name); err != nil {
			b.Errorf("delete %s: %v", name, err)
		}
	}
}

// partitionOf is pool team's partition among n; with one partition every
// pool is in LEDGER-0 (subject.PartitionOf's n <= 1 is the unpartitioned
// layout, whose stream is LEDGER).
func partitionOf(team string, n int) int {
	if n <= 1 {
		return 0
	}
	return subject.PartitionOf(benchOrg, team, n)
}

// partitionRuns numbers the runs of partitionAppendOp, whose pools are
// new every run.
var partitionRuns atomic.Int64

// partitionAppendOp returns an operation appending charge i to pool
// i%benchPools in its partition, one append at a time per pool, each
// guarded by the pool subject's last sequence. The pools' names are new
// every run, so their subjects start empty whatever earlier runs left.
func partitionAppendOp(b *testing.B, js jetstream.JetStream, n int) func(i int) error {
	b.Helper()
	run := partitionRuns.Add(1)
	type pool struct {
		mu      sync.Mutex
		team    string
		subject string
		last    uint64
	}
	pools := make([]pool, benchPools)
	for i := range pools {
		team := fmt.Sprintf("r%dt%04d", run, i)
		pools[i].team, pools[i].subject = team, subject.LedgerSubjectIn(partitionOf(team, n), benchOrg, team)
	}
	ctx := context.Background()
	id := fmt.Sprintf("part-%d-", time.Now().UnixNano())
	return func(i int) error {
		p := &pools[i%benchPools]
		p.mu.Lock()
		defer p.mu.Unlock()
		last := p.last
		a, err := eventlog.Append(ctx, js, p.subject, chargeEvent(id, i, p.team), &last)
		if err != nil {
			return err
		}
		p.last = a.Sequence
		return nil
	}
}

// leaderNodes counts the servers leading at least one of the streams.
func leaderNodes(b *testing.B, js jetstream.JetStream, names []string) int {
	b.Helper()
	leaders := map[string]bool{}
	for _, name := range names {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			b.Fatal(err)
		}
		if c := s.CachedInfo().Cluster; c != nil && c.Leader != "" {
			leaders[c.Leader] = true
		}
	}
	return len(leaders)
}

// chargeEvent is a charge as the ledger records one: a window charged to a
// user, split over one pack, with the pool's figures after it.
func chargeEvent(prefix string, i int, team string) *v1.Event {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return &v1.Event{
		EventId: prefix + fmt.Sprint(i), OrgId: benchOrg, TeamId: team, ServerTime: timestamppb.New(at),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: fmt.Sprintf("u%d", i%10_000), ProductCode: "REVIT", WindowId: "w-" + prefix + fmt.Sprint(i),
			WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(24 * time.Hour)), Tokens: 10,
			Split: []*v1.PackSplit{{PackId: "p-" + strings.ToLower(team), Tokens: 10}},
			Pool:  &v1.PoolFigures{Available: 1_000_000 - int64(i), Live: 1_000_000},
		}},
	}
}
