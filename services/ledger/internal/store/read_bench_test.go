package store

import (
	"context"
	"testing"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// BenchmarkRead: Read (what GetBalance and QuoteLaunch do: catch up with
// the log, then look) on 1,000 loaded pools with nothing new to fold, by 16
// callers, beside the one JetStream request it cannot avoid, the subject's
// last sequence (a direct get), made by as many callers.
func BenchmarkRead(b *testing.B) {
	js := benchJS(b)
	l := newLauncher(b, js, manyPools)
	ctx := context.Background()
	stream, err := js.Stream(ctx, eventlog.LedgerStream)
	if err != nil {
		b.Fatal(err)
	}
	var raw load.Best
	b.Run("raw-last-sequence", func(b *testing.B) {
		r, cpu := load.Measure(func() load.Result {
			return load.Closed(b, 16, b.N, func(i int) error {
				_, err := eventlog.LastSequence(ctx, stream, eventlog.LedgerSubject(benchOrg, teamName(i%manyPools)))
				return err
			})
		})
		raw.Keep(r, cpu)
		r.Report(b, "get/s", 0)
		load.ReportCPU(b, cpu, 0)
	})
	b.Run("read", func(b *testing.B) {
		r, cpu := load.Measure(func() load.Result {
			return load.Closed(b, 16, b.N, func(i int) error {
				return l.s.Read(ctx, benchOrg, teamName(i%manyPools), func(*pool.Pool) {})
			})
		})
		r.Report(b, "read/s", raw.Rate())
		load.ReportCPU(b, cpu, raw.CPUPerOp())
	})
}
