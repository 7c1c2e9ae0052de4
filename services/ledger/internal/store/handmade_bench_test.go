package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
)

// libraryJS is a JetStream whose connection is not shown: eventlog.Append
// then publishes with jetstream.PublishMsg, nats.go's own publish and
// acknowledgement decoding, instead of its hand-written request and scan.
type libraryJS struct{ jetstream.JetStream }

func (libraryJS) Conn() *nats.Conn { return nil }

// BenchmarkHandMade: the ledger's decisions with each hand-written
// replacement of a library and without it, side by side in one run, each
// on its own embedded server: "hand" (eventlog's own publish, no
// snapshots), "library" (jetstream.PublishMsg, no snapshots) and
// "snapshots" (eventlog's own publish, a snapshot every 1,000 events of a
// pool as in production). The variants take turns in rounds, so other load
// on the machine falls on each alike. A hand-written piece is worth keeping
// where it buys at least 15 % end to end: library÷hand for the publish;
// for the snapshot encoder, snapshots÷hand bounds what any encoder can buy,
// as it is the whole cost of snapshots (encoding, compression, storage).
// One caller on one pool, then 64 callers over 16 pools. b.N is the
// decisions of each variant; run with -benchtime Nx (load.Closed resets
// the timer every round, so the framework cannot size b.N itself).
func BenchmarkHandMade(b *testing.B) {
	for _, c := range []struct{ callers, pools int }{{1, 1}, {64, 16}} {
		b.Run(fmt.Sprintf("callers-%d", c.callers), func(b *testing.B) {
			handMade(b, c.callers, c.pools)
		})
	}
}

// handMadeRound is how many decisions each variant makes before the next takes its turn.
const handMadeRound = 500

func handMade(b *testing.B, callers, pools int) {
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
		{"hand", New(benchJS(b), log)},
		{"library", New(libraryJS{benchJS(b)}, log)},
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
	for done := 0; done < b.N; done += handMadeRound {
		n := min(handMadeRound, b.N-done)
		for k := range variants {
			op, advance := ls[k].op()
			r, cpu := load.Measure(func() load.Result { return load.Closed(b, callers, n, op) })
			advance(n)
			got[k].r.Ops += r.Ops
			got[k].r.Elapsed += r.Elapsed
			got[k].r.Lat = append(got[k].r.Lat, r.Lat...)
			got[k].cpu += cpu * time.Duration(r.Ops)
		}
	}
	rate := map[string]float64{}
	for k, v := range variants {
		t := got[k]
		rate[v.name] = t.r.PerSec()
		b.ReportMetric(t.r.PerSec(), v.name+"-auth/s")
		b.ReportMetric(float64(t.r.Quantile(0.5).Nanoseconds())/1e3, v.name+"-p50-µs")
		b.ReportMetric(float64(t.r.Quantile(0.99).Nanoseconds())/1e3, v.name+"-p99-µs")
		b.ReportMetric(float64(t.cpu.Nanoseconds())/1e3/float64(max(t.r.Ops, 1)), v.name+"-cpu-µs/op")
	}
	b.ReportMetric(rate["library"]/rate["hand"], "library/hand")
	b.ReportMetric(rate["snapshots"]/rate["hand"], "snapshots/hand")
}
