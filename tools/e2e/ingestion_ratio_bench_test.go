package e2e

import (
	"testing"

	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// BenchmarkLaunchVersusLedger: ingestion's gRPC Launch beside the ledger's
// own Authorize, both closed loops of 64 callers over 1,000 teams in one run
// (ratio-to-raw is ingestion ÷ ledger; target ≥ 0.5), then ingestion in an
// open loop at half its measured rate (target p99 < 5 ms).
func BenchmarkLaunchVersusLedger(b *testing.B) {
	env := setupLaunchBench(b)
	ledger := v1.NewLedgerServiceClient(benchConn(b, env.led.addr, devstack.ServiceKey))
	ingest := v1.NewIngestionServiceClient(benchConn(b, env.ing.Addr(), devstack.ServiceKey))
	authorizeOp := func() func(int) error {
		p := env.prefix("ledger")
		return func(i int) error {
			_, err := ledger.Authorize(env.svc, &v1.AuthorizeRequest{Launch: benchLaunch(i, p)})
			return err
		}
	}
	launchOp := func() func(int) error {
		p := env.prefix("ingest")
		return func(i int) error {
			_, err := ingest.Launch(env.svc, benchLaunch(i, p))
			return err
		}
	}
	var ledgerRate, launchRate float64
	// baseline measures what a sub-benchmark compares with when it runs
	// alone (-bench filtered the others out).
	baseline := func(b *testing.B, rate *float64, op func() func(int) error) float64 {
		if *rate == 0 {
			*rate = load.Closed(b, launchCallers, 20000, op()).PerSec()
		}
		b.StartTimer() // Closed stopped it; see load.Closed
		return *rate
	}
	b.Run("ledger-authorize", func(b *testing.B) {
		r := load.Closed(b, launchCallers, b.N, authorizeOp())
		ledgerRate = max(ledgerRate, r.PerSec())
		r.Report(b, "launch/s", 0)
	})
	b.Run("ingestion-grpc", func(b *testing.B) {
		rr := baseline(b, &ledgerRate, authorizeOp)
		r := load.Closed(b, launchCallers, b.N, launchOp())
		launchRate = max(launchRate, r.PerSec())
		r.Report(b, "launch/s", rr)
	})
	b.Run("ingestion-grpc-half-load", func(b *testing.B) {
		rate := baseline(b, &launchRate, launchOp) / 2
		r := load.Open(b, rate, 4*launchCallers, b.N, launchOp())
		r.Report(b, "launch/s", 0)
		b.ReportMetric(rate, "offered/s")
	})
}
