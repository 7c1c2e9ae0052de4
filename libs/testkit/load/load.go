// Package load drives benchmarks: a closed loop (each worker sends its next
// operation when the previous one answered) for throughput, an open loop at a
// fixed offered rate for latency without coordinated omission, and the
// figures reported beside the raw component measured in the same run.
package load

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Result is what one measured run saw.
type Result struct {
	Ops     int
	Elapsed time.Duration
	Lat     []time.Duration // per operation, unsorted
}

func (r Result) PerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

func (r Result) Quantile(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	s := slices.Clone(r.Lat)
	slices.Sort(s)
	i := int(q * float64(len(s)))
	return s[min(i, len(s)-1)]
}

// Report prints rate and latency quantiles; raw > 0 adds the raw figure and
// the ratio of ours to it.
func (r Result) Report(b *testing.B, unit string, raw float64) {
	b.ReportMetric(r.PerSec(), unit)
	b.ReportMetric(float64(r.Quantile(0.50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(r.Quantile(0.99).Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(r.Quantile(0.999).Nanoseconds())/1e3, "p99.9-µs")
	if raw > 0 {
		b.ReportMetric(raw, "raw-msg/s")
		b.ReportMetric(r.PerSec()/raw, "ratio-to-raw")
	}
}

// Closed runs n operations from g goroutines, each starting its next
// operation when the previous one answered; the benchmark's timer covers
// exactly this run.
func Closed(b *testing.B, g, n int, op func(i int) error) Result {
	b.Helper()
	// ResetTimer only restarts a running timer: a caller that stopped it
	// (to measure a baseline first) would otherwise time nothing, and Go
	// would raise b.N without end.
	b.ResetTimer()
	b.StartTimer()
	r, err := Run(g, n, op)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// Run is Closed without the benchmark's timer, for a benchmark that times
// several runs itself (variants taking turns); the error is the first an
// operation returned.
func Run(g, n int, op func(i int) error) (Result, error) {
	var next atomic.Int64
	lats := make([][]time.Duration, g)
	errs := make(chan error, g)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range g {
		wg.Go(func() {
			mine := make([]time.Duration, 0, n/g+1)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				t := time.Now()
				if err := op(i); err != nil {
					errs <- err
					break
				}
				mine = append(mine, time.Since(t))
			}
			lats[w] = mine
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return Result{}, err
	}
	return Result{Ops: n, Elapsed: elapsed, Lat: slices.Concat(lats...)}, nil
}

// Open offers n operations at a fixed rate (a rate limiter that does not
// wait for answers), from up to workers goroutines. Latency is measured from
// each operation's scheduled start, so a stall shows in the quantiles instead
// of slowing the offered load (no coordinated omission).
//
// The generator has a floor of its own: the runtime's timers fire up to a
// millisecond late when the process is idle (the scheduler then waits in
// epoll_wait, whose timeout is in milliseconds), so an operation that does
// nothing measures about 0.5 ms at p50, and 1.5–4 ms at p99 on a 2-core VM,
// whose wake-ups are late by themselves (nanosleep overshoots ~0.9 ms at
// p99 there). Measure the floor beside the figure (an op returning nil at the
// same rate). The runtime's timers stay: a sharper pacer costs more CPU in
// thread wake-ups than it saves in the tail (README, Performance).
func Open(b *testing.B, rate float64, workers, n int, op func(i int) error) Result {
	b.Helper()
	interval := time.Duration(float64(time.Second) / rate)
	var next atomic.Int64
	lats := make([][]time.Duration, workers)
	lates := make([][]time.Duration, workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	// ResetTimer only restarts a running timer: a caller that stopped it
	// (to measure a baseline first) would otherwise time nothing, and Go
	// would raise b.N without end.
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine, late []time.Duration
			defer func() { lates[w] = late }()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				sent := time.Now()
				if err := op(i); err != nil {
					errs <- err
					break
				}
				mine = append(mine, time.Since(due))
				late = append(late, sent.Sub(due))
			}
			lats[w] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	l := Result{Ops: n, Elapsed: elapsed, Lat: slices.Concat(lats...)}
	lt := Result{Lat: slices.Concat(lates...)}
	b.ReportMetric(float64(lt.Quantile(0.99).Nanoseconds())/1e3, "p99-sendlate-µs")
	return l
}
