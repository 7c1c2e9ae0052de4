package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
)

// BenchmarkSnapshotCost: the ledger's decisions without snapshots ("none")
// and with a snapshot every 1,000 events of a pool as in production
// ("snapshots": captured under the pool's lock, encoded with encoding/json,
// gzipped and stored in the background), side by side in one run, each on
// its own embedded server. The variants take turns in rounds, each going
// first in turn, so other load on the machine falls on both alike; cpu-µs/op (the whole process's CPU per
// decision) is the steadier figure, as the throughput of two runs of the
// same code differs by up to 15 % on a shared 2-core machine. What
// snapshots cost end to end bounds what a faster encoder could buy.
// One caller on one pool, then 64 callers over 16 pools. b.N is the
// decisions of each variant.
func BenchmarkSnapshotCost(b *testing.B) {
	for _, c := range []struct{ callers, pools int }{{1, 1}, {64, 16}} {
		b.Run(fmt.Sprintf("callers-%d", c.callers), func(b *testing.B) {
			snapshotCost(b, c.callers, c.pools)
		})
	}
}

// snapshotCostRound is how many decisions each variant makes before the next takes its turn.
const snapshotCostRound = 500

func snapshotCost(b *testing.B, callers, pools int) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	snapJS := benchJS(b)
	snaps, err := OpenSnapshots(ctx, snapJS, 1)
	if err != nil {
		b.Fatal(err)
	}
	variants := []struct {
		name  string
		store *Store
	}{
		{"none", New(benchJS(b), log)},
		{"snapshots", New(snapJS, log).WithSnapshots(snaps, 1000)},
	}
	type tally struct {
		r   load.Result
		cpu time.Duration
	}
	ls := make([]*launcher, len(variants))
	got := make([]tally, len(variants))
	for k, v := range variants {
		seedPools(b, v.store, pools)
		ls[k] = &launcher{s: v.store, cat: benchCatalog(), pools: pools, users: usersPerPool(pools)}
	}
	b.ResetTimer()
	for round, done := 0, 0; done < b.N; round, done = round+1, done+snapshotCostRound {
		n := min(snapshotCostRound, b.N-done)
		for j := range variants {
			k := (j + round) % len(variants) // each goes first in turn
			op, advance := ls[k].op()
			var err error
			r, cpu := load.Measure(func() load.Result {
				var r load.Result
				r, err = load.Run(callers, n, op)
				// Saves run in the background: counted in this round, not the next.
				variants[k].store.WaitSnapshots()
				return r
			})
			if err != nil {
				b.Fatal(err)
			}
			advance(n)
			got[k].r.Ops += r.Ops
			got[k].r.Elapsed += r.Elapsed
			got[k].r.Lat = append(got[k].r.Lat, r.Lat...)
			got[k].cpu += cpu * time.Duration(r.Ops)
		}
	}
	b.StopTimer()
	rate, cpu := map[string]float64{}, map[string]float64{}
	for k, v := range variants {
		t := got[k]
		rate[v.name] = t.r.PerSec()
		cpu[v.name] = float64(t.cpu.Nanoseconds()) / 1e3 / float64(max(t.r.Ops, 1))
		b.ReportMetric(t.r.PerSec(), v.name+"-auth/s")
		b.ReportMetric(float64(t.r.Quantile(0.5).Nanoseconds())/1e3, v.name+"-p50-µs")
		b.ReportMetric(float64(t.r.Quantile(0.99).Nanoseconds())/1e3, v.name+"-p99-µs")
		b.ReportMetric(cpu[v.name], v.name+"-cpu-µs/op")
	}
	b.ReportMetric(rate["snapshots"]/rate["none"], "snapshots/none")
	b.ReportMetric(cpu["snapshots"]/cpu["none"], "cpu-snapshots/none")
}
