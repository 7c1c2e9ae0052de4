package pool

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// BenchmarkDecideAndApply: the core's share of a decision, no I/O: a launch
// decided and its event folded, on a pool in its steady state (every
// (user, product) window exists; answers of the last 48 hours remembered,
// older ones forgotten). Launch i is user i%100, product i/100%10, a new day
// every 1,000 launches, so each opens a new window and is charged.
// "heap-B/answer" is the live heap the pool holds per event id it remembers
// (the answers are nearly all of it).
func BenchmarkDecideAndApply(b *testing.B) {
	p, decide, warm := steadyPool(b)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range warm {
		decide(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(p.applied))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		decide(warm + i)
	}
	b.ReportMetric(heap, "heap-B/answer")
}

// steadyPool returns a pool with 100 users assigned every product of 10, a
// function deciding and folding launch i on it, and how many launches make
// its steady state.
func steadyPool(b *testing.B) (*Pool, func(i int), int) {
	const users, products = 100, 10
	cat := NewCatalog()
	for c := range products {
		cat.Apply(&v1.Event{Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{
			ProductCode: fmt.Sprintf("P%d", c), DailyRate: 1, EffectiveFrom: tsOf(t0.Add(-time.Hour))}}})
	}
	p := New("acme", "design")
	pack, err := p.DecideAddPack(AddPack{EventID: "pack", PackID: "big", Tokens: MaxPackTokens, ExpiresAt: t0.AddDate(50, 0, 0), At: t0})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Apply(pack); err != nil {
		b.Fatal(err)
	}
	for u := range users {
		ev, err := p.DecideAssign(fmt.Sprintf("assign-%d", u), fmt.Sprintf("u%d", u), []string{"*"}, t0, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	const perDay = users * products
	launches := make([]Launch, 8*perDay) // ids and names made before timing
	for i := range launches {
		launches[i] = Launch{EventID: fmt.Sprintf("L%d", i), User: fmt.Sprintf("u%d", i%users),
			Product: fmt.Sprintf("P%d", i/users%products), Device: "d", Version: "2026"}
	}
	decide := func(i int) {
		l := launches[i%len(launches)]
		l.EventID = fmt.Sprintf("%s-%d", l.EventID, i/len(launches)) // unique; before timing for the first round
		l.At = t0.Add(time.Duration(i/perDay) * WindowLength)
		o, ev := p.DecideLaunch(l, cat)
		if o.Tokens != 1 || ev == nil {
			b.Fatalf("launch %d: %+v", i, o)
		}
		if err := p.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	// Steady state: three days of launches, so the answers kept span the
	// retention and the oldest are being forgotten.
	return p, decide, 3 * perDay
}

// BenchmarkMarshalSnapshot: encoding the steady-state pool of
// BenchmarkDecideAndApply (about 3,000 answers remembered), as the store does
// every SnapshotEvery events of a pool.
func BenchmarkMarshalSnapshot(b *testing.B) {
	benchSteadyPool(b, func(p *Pool) error { _, err := p.MarshalSnapshot(); return err })
}

// BenchmarkCaptureSnapshot: the part of BenchmarkMarshalSnapshot the store
// does under the pool's lock (Encode, the rest, runs in the background).
func BenchmarkCaptureSnapshot(b *testing.B) {
	benchSteadyPool(b, func(p *Pool) error { _, err := p.CaptureSnapshot(); return err })
}

// benchSteadyPool times op on the pool of steadyPool once warmed up.
func benchSteadyPool(b *testing.B, op func(*Pool) error) {
	p, decide, warm := steadyPool(b)
	for i := range warm {
		decide(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := op(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalSnapshot: restoring that pool from its snapshot, as a
// replica does when it first loads the pool.
func BenchmarkUnmarshalSnapshot(b *testing.B) {
	p, decide, warm := steadyPool(b)
	for i := range warm {
		decide(i)
	}
	data, err := p.MarshalSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := UnmarshalSnapshot(data); err != nil {
			b.Fatal(err)
		}
	}
}
