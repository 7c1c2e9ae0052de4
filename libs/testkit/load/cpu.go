package load

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

// Best keeps the result of a sub-benchmark's largest run (the one the
// framework prints) and the CPU time that run took per operation, so later
// sub-benchmarks can print theirs beside it.
type Best struct {
	mu  sync.Mutex
	r   Result
	cpu time.Duration
}

// Keep records r if it is the largest run so far.
func (m *Best) Keep(r Result, cpu time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Ops >= m.r.Ops {
		m.r, m.cpu = r, cpu
	}
}

// Result is the largest run kept.
func (m *Best) Result() Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.r
}

// CPUPerOp is the CPU time per operation of the largest run kept.
func (m *Best) CPUPerOp() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cpu
}

// Rate is the operations per second of the largest run kept (0: none).
func (m *Best) Rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.r.Ops == 0 {
		return 0
	}
	return m.r.PerSec()
}

// CPUTime is the CPU time this process has used (user and system, every
// goroutine: the code measured and an embedded server alike).
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Measure runs one measured run and returns its result with the CPU time it
// took per operation.
func Measure(run func() Result) (Result, time.Duration) {
	c0 := CPUTime()
	r := run()
	return r, (CPUTime() - c0) / time.Duration(max(r.Ops, 1))
}

// ReportCPU prints the CPU time per operation, and beside the raw one
// "cpu-ratio" (raw's CPU per operation / ours). Unlike throughput, CPU per
// operation hardly moves with other load on a shared machine; where the CPU
// is the bottleneck (2 cores, the server embedded) the throughput ratio
// tends to the cpu-ratio.
func ReportCPU(b *testing.B, cpu, raw time.Duration) {
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3, "cpu-µs/op")
	if raw > 0 && cpu > 0 {
		b.ReportMetric(float64(raw.Nanoseconds())/1e3, "raw-cpu-µs/op")
		b.ReportMetric(float64(raw)/float64(cpu), "cpu-ratio")
	}
}
