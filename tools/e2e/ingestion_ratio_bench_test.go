package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// BenchmarkLaunchVersusLedger: ingestion's gRPC Launch beside the ledger's
// own Authorize, both closed loops of 64 callers over 1,000 teams in one run
// (ratio-to-raw is ingestion ÷ ledger; target ≥ 0.5), then ingestion in an
// open loop at half its measured rate (target p99 < 5 ms). cpu-µs/op is the
// whole process's CPU per launch (callers, ingestion, ledger and NATS all
// run in it); cpu-ratio is the ledger's ÷ ingestion's; syscalls/op the
// process's reads and writes per launch, which count the wake-ups and
// batching of every connection (gRPC, NATS) and hardly move with other load
// on the machine. The fixed-rate runs offer the same load every time (the
// half-load rate moves with the measured maximum), beside the open loop's
// own floor (an operation that does nothing) at that rate.
func BenchmarkLaunchVersusLedger(b *testing.B) {
	env := setupLaunchBench(b)
	ledger := v1.NewLedgerServiceClient(benchConn(b, env.led.addr, devstack.ServiceKey))
	ingest := v1.NewIngestionServiceClient(benchConn(b, env.ing.Addr(), devstack.GatewayKey))
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
	var ledgerRun, launchRun load.Best
	// baseline measures what a sub-benchmark compares with when it runs
	// alone (-bench filtered the others out).
	baseline := func(b *testing.B, best *load.Best, op func() func(int) error) float64 {
		if best.Rate() == 0 {
			best.Keep(load.Measure(func() load.Result { return load.Closed(b, launchCallers, 20000, op()) }))
		}
		b.StartTimer() // Closed stopped it; see load.Closed
		return best.Rate()
	}
	b.Run("ledger-authorize", func(b *testing.B) {
		r, cpu := measure(b, func() load.Result { return load.Closed(b, launchCallers, b.N, authorizeOp()) })
		ledgerRun.Keep(r, cpu)
		r.Report(b, "launch/s", 0)
		load.ReportCPU(b, cpu, 0)
	})
	b.Run("ingestion-grpc", func(b *testing.B) {
		rr := baseline(b, &ledgerRun, authorizeOp)
		r, cpu := measure(b, func() load.Result { return load.Closed(b, launchCallers, b.N, launchOp()) })
		launchRun.Keep(r, cpu)
		r.Report(b, "launch/s", rr)
		load.ReportCPU(b, cpu, ledgerRun.CPUPerOp())
	})
	b.Run("ingestion-grpc-half-load", func(b *testing.B) {
		rate := baseline(b, &launchRun, launchOp) / 2
		r, cpu := measure(b, func() load.Result { return load.Open(b, rate, 4*launchCallers, b.N, launchOp()) })
		r.Report(b, "launch/s", 0)
		load.ReportCPU(b, cpu, 0)
		b.ReportMetric(rate, "offered/s")
	})
	const fixedRate = 2000
	b.Run(fmt.Sprintf("ingestion-grpc-%d-per-s", fixedRate), func(b *testing.B) {
		r, cpu := measure(b, func() load.Result { return load.Open(b, fixedRate, 4*launchCallers, b.N, launchOp()) })
		r.Report(b, "launch/s", 0)
		load.ReportCPU(b, cpu, 0)
	})
	b.Run(fmt.Sprintf("floor-%d-per-s", fixedRate), func(b *testing.B) {
		r := load.Open(b, fixedRate, 4*launchCallers, b.N, func(int) error { return nil })
		r.Report(b, "op/s", 0)
	})
}

// measure is load.Measure that also reports the process's read and write
// system calls per operation.
func measure(b *testing.B, run func() load.Result) (load.Result, time.Duration) {
	r0, w0, ok0 := syscalls()
	r, cpu := load.Measure(run)
	r1, w1, ok1 := syscalls()
	if ok0 && ok1 && r.Ops > 0 {
		b.ReportMetric(float64(r1-r0+w1-w0)/float64(r.Ops), "syscalls/op")
		b.ReportMetric(float64(w1-w0)/float64(r.Ops), "writes/op")
	}
	return r, cpu
}

// syscalls reads this process's read and write system call counts (Linux).
func syscalls() (reads, writes int64, ok bool) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0, false
	}
	var found int
	for sc := bufio.NewScanner(bytes.NewReader(data)); sc.Scan(); {
		var v int64
		if n, _ := fmt.Sscanf(sc.Text(), "syscr: %d", &v); n == 1 {
			reads, found = v, found+1
		} else if n, _ := fmt.Sscanf(sc.Text(), "syscw: %d", &v); n == 1 {
			writes, found = v, found+1
		}
	}
	return reads, writes, found == 2
}
