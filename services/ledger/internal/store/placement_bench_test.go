package store

// The cost of placing a new pool (a KV read that misses, the history
// lookup in every LEDGER stream, the record's create) against the raw KV
// create it ends in, on the same embedded server in the same run:
//
//	go test -run '^$' -bench BenchmarkPlaceNewPool ./internal/store/

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// benchRun makes each run's keys new (-count runs a benchmark again).
var benchRun atomic.Int64

func BenchmarkPlaceNewPool(b *testing.B) {
	js := benchJS(b)
	ctx := b.Context()
	for _, n := range []int{1, 4, 8} {
		if err := eventlog.Provision(ctx, js, eventlog.StreamOptions{Partitions: n}, eventlog.LedgerStreams(n)...); err != nil {
			b.Fatal(err)
		}
		pl, err := OpenPlacement(ctx, js, n, 1)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("raw-kv-create/partitions=%d", n), func(b *testing.B) {
			run := benchRun.Add(1)
			for i := 0; b.Loop(); i++ {
				if _, err := pl.kv.Create(ctx, fmt.Sprintf("raw%d.t%d", run, i), []byte("3")); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("place/partitions=%d", n), func(b *testing.B) {
			run := benchRun.Add(1)
			for i := 0; b.Loop(); i++ {
				if _, _, err := pl.Of(ctx, "acme", fmt.Sprintf("r%d-t%d", run, i), true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
