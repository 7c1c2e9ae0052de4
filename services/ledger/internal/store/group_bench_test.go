package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
)

// BenchmarkDecideOnePoolReplicated: BenchmarkDecideOnePool on a LEDGER stream
// replicated over a three-node cluster (in this process), where decisions
// that queue up on the busy pool go as group commits, beside synchronous
// publish with the expected subject sequence on that stream. Every append of
// a replicated stream waits for a quorum, so one decision at a time would hold
// a pool to one decision per replication round trip.
func BenchmarkDecideOnePoolReplicated(b *testing.B) {
	urls := testkit.NATSCluster(b, 3)
	nc, err := nats.Connect(urls)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if err := eventlog.Provision(context.Background(), js, eventlog.StreamOptions{Replicas: 3}); err != nil {
		b.Fatal(err)
	}
	var raw load.Best
	b.Run("raw-sync-expect-seq", func(b *testing.B) {
		r, cpu := load.Measure(func() load.Result {
			return load.RawSyncExpect(b, js, eventlog.LedgerStream, rawSubject(-1), rawPayload, b.N)
		})
		raw.Keep(r, cpu)
		r.Report(b, "msg/s", 0)
		load.ReportCPU(b, cpu, 0)
	})
	l := newLauncher(b, js, 1)
	for _, g := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("decide-callers-%d", g), func(b *testing.B) {
			op, advance := l.op()
			before, _ := l.s.GroupStats()
			r, cpu := load.Measure(func() load.Result { return load.Closed(b, g, b.N, op) })
			advance(b.N)
			after, _ := l.s.GroupStats()
			r.Report(b, "auth/s", raw.Rate())
			load.ReportCPU(b, cpu, raw.CPUPerOp())
			b.ReportMetric(float64(after-before)/float64(b.N), "grouped/op")
		})
	}
}
