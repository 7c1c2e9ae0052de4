package store

// Benchmarks of the store's Decide against the raw JetStream appends it is
// made of, measured on the same embedded server in the same run. Run with
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/store/
//
// Each parent benchmark starts its own embedded NATS server (file storage, the
// LEDGER stream as provisioned in production), measures the raw figure first,
// then ours; every line of ours carries "raw-msg/s" and "ratio-to-raw", and
// "cpu-µs/op", "raw-cpu-µs/op" and "cpu-ratio" (the process's CPU time per
// operation, embedded server included: steadier than throughput on a machine
// shared with other work). Run one package at a time (go test -p 1): two
// benchmarking at once halve each other's throughput.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

const (
	benchOrg      = "acme"
	benchProducts = 10 // in the catalog, rate 1
	manyPools     = 1000
	rawPayload    = 200 // bytes, as in DESIGN.md's yardstick
)

var benchT0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// benchJS starts an embedded server and provisions the streams as the ledger
// does; everything stops when the benchmark ends.
func benchJS(b *testing.B) jetstream.JetStream {
	b.Helper()
	url, _ := testkit.NATS(b)
	return benchJSAt(b, url, 1)
}

// benchJSAt connects to the servers at urls and provisions the streams with
// replicas copies.
func benchJSAt(b *testing.B, urls string, replicas int) jetstream.JetStream {
	b.Helper()
	nc, err := nats.Connect(urls, testkit.Options(b, urls, "ledger")...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if err := eventlog.Provision(context.Background(), js, eventlog.StreamOptions{Replicas: replicas}, eventlog.LedgerStream); err != nil {
		b.Fatal(err)
	}
	return js
}

// rawSubject is a subject of the LEDGER stream that is not a pool (four
// tokens), so nothing in the ledger ever folds it.
func rawSubject(i int) string { return fmt.Sprintf("ledger.raw.s%d.x", i) }

func rawSubjects(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = rawSubject(i)
	}
	return out
}

// benchCatalog prices products P0..P9 at 1 token a day.
func benchCatalog() *pool.Catalog {
	c := pool.NewCatalog()
	for p := range benchProducts {
		c.Apply(&v1.Event{Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{
			ProductCode: fmt.Sprintf("P%d", p), DailyRate: 1, EffectiveFrom: timestamppb.New(benchT0.Add(-time.Hour))}}})
	}
	return c
}

func teamName(i int) string { return fmt.Sprintf("t%04d", i) }

// usersPerPool is how many users every pool has, each assigned every product.
// Launch k of a pool is user k%users, product k/users%10, on day
// k/(users*10): every launch opens a new (user, product) window and is
// charged, as long as a pool's launches of one (user, product) are decided
// in time order (a launch stamped before its window's start is covered by
// it). One pool gets many users, so that concurrent callers, whose tickets
// may be decided slightly out of order, never reach the same (user, product)
// at once.
func usersPerPool(pools int) int {
	if pools == 1 {
		return 1000
	}
	return 10
}

// seedPools gives every pool a pack that lasts (2^50 tokens, expiring in a
// century) and assigns the bench users with every product.
func seedPools(b *testing.B, s *Store, pools int) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= pools {
					return
				}
				team := teamName(i)
				err := s.Decide(ctx, benchOrg, team, benchT0, func(p *pool.Pool) ([]*v1.Event, error) {
					ev, err := p.DecideAddPack(pool.AddPack{EventID: "pack-" + team, PackID: "big", Tokens: pool.MaxPackTokens,
						ExpiresAt: benchT0.AddDate(50, 0, 0), At: benchT0})
					if err != nil {
						return nil, err
					}
					events := []*v1.Event{ev}
					for u := range usersPerPool(pools) {
						ev, err := p.DecideAssign(fmt.Sprintf("assign-%s-%d", team, u), fmt.Sprintf("u%d", u), []string{"*"}, benchT0, nil)
						if err != nil {
							return nil, err
						}
						events = append(events, ev)
					}
					return events, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// launcher decides launch number i (of a counter that never goes back, so
// state carries over between the benchmark's runs): pool i%pools, and a new
// (user, product, day) window in that pool every time.
type launcher struct {
	s     *Store
	cat   *pool.Catalog
	pools int
	users int
	base  atomic.Int64 // launches decided by earlier runs
	// covered counts launches an open window covered (decided out of time
	// order): still one append each, reported when not zero.
	covered atomic.Int64
}

func (l *launcher) launch(ctx context.Context, i int) error {
	team := teamName(i % l.pools)
	k := i / l.pools
	at := benchT0.Add(time.Duration(k/(l.users*benchProducts)) * pool.WindowLength)
	lc := pool.Launch{
		EventID: fmt.Sprintf("L%d", i), User: fmt.Sprintf("u%d", k%l.users),
		Product: fmt.Sprintf("P%d", k/l.users%benchProducts), At: at,
	}
	var out pool.Outcome
	err := l.s.Decide(ctx, benchOrg, team, at, func(p *pool.Pool) ([]*v1.Event, error) {
		o, ev := p.DecideLaunch(lc, l.cat)
		out = o
		if ev == nil {
			return nil, nil
		}
		return []*v1.Event{ev}, nil
	})
	if err != nil {
		return err
	}
	if out.Decision != v1.Decision_DECISION_AUTHORIZED {
		return fmt.Errorf("launch %d on %s: %v %v: every bench launch must be authorized", i, team, out.Decision, out.DenyReason)
	}
	if out.Tokens == 0 {
		l.covered.Add(1)
	}
	return nil
}

// op returns the operation deciding launch base+i, and advance, which moves
// the base on past the launches a run decided.
func (l *launcher) op() (func(i int) error, func(n int)) {
	base := int(l.base.Load())
	ctx := context.Background()
	return func(i int) error { return l.launch(ctx, base+i) }, func(n int) { l.base.Add(int64(n)) }
}

func newLauncher(b *testing.B, js jetstream.JetStream, pools int) *launcher {
	s := New(js, slog.New(slog.DiscardHandler))
	seedPools(b, s, pools)
	return &launcher{s: s, cat: benchCatalog(), pools: pools, users: usersPerPool(pools)}
}

// reportCovered adds the number of launches a window covered, if any.
func (l *launcher) reportCovered(b *testing.B) {
	if c := l.covered.Swap(0); c > 0 {
		b.ReportMetric(float64(c), "covered")
	}
}

// BenchmarkDecideOnePool: Decide launches on one pool, sequential and with
// concurrent callers, beside synchronous publish with the expected subject
// sequence on one subject. Target: ours ≥ 0.70 × raw.
func BenchmarkDecideOnePool(b *testing.B) { decideOnePool(b, benchJS(b), []int{1, 4, 16, 64}) }

// BenchmarkDecideOnePoolReplicated: BenchmarkDecideOnePool on a LEDGER stream
// replicated over a three-node cluster (in this process), where decisions
// that queue up on the busy pool go as group commits ("grouped/op"). Every
// append of a replicated stream waits for a quorum, so one decision at a time
// would hold a pool to one decision per replication round trip.
func BenchmarkDecideOnePoolReplicated(b *testing.B) {
	decideOnePool(b, benchJSAt(b, testkit.NATSCluster(b, 3), 3), []int{1, 16, 64})
}

func decideOnePool(b *testing.B, js jetstream.JetStream, callers []int) {
	var raw load.Best
	rawRate := func(b *testing.B) float64 {
		if raw.Rate() == 0 { // raw filtered out by -bench: measure it here
			raw.Keep(load.Measure(func() load.Result {
				return load.RawSyncExpect(b, js, eventlog.LedgerStream, rawSubject(-1), rawPayload, 20000)
			}))
		}
		// load.Closed and load.Open reset the timer, which restarts only a
		// running one: after a preliminary measurement (which stops it) start
		// it again, or the run times nothing and the framework keeps raising
		// b.N (up to 1e9) so the benchmark never ends.
		b.StartTimer()
		return raw.Rate()
	}
	b.Run("raw-sync-expect-seq", func(b *testing.B) {
		r, cpu := load.Measure(func() load.Result {
			return load.RawSyncExpect(b, js, eventlog.LedgerStream, rawSubject(-1), rawPayload, b.N)
		})
		raw.Keep(r, cpu)
		r.Report(b, "msg/s", 0)
		load.ReportCPU(b, cpu, 0)
	})
	l := newLauncher(b, js, 1)
	for _, g := range callers {
		b.Run(fmt.Sprintf("decide-callers-%d", g), func(b *testing.B) {
			rr := rawRate(b)
			op, advance := l.op()
			before, _ := l.s.GroupStats()
			r, cpu := load.Measure(func() load.Result { return load.Closed(b, g, b.N, op) })
			advance(b.N)
			after, _ := l.s.GroupStats()
			r.Report(b, "auth/s", rr)
			load.ReportCPU(b, cpu, raw.CPUPerOp())
			b.ReportMetric(float64(after-before)/float64(b.N), "grouped/op")
			l.reportCovered(b)
		})
	}
}

// BenchmarkDecideThousandPools: Decide launches spread over 1,000 pools by
// concurrent callers, beside pipelined publish with Nats-Msg-Id and expected
// subject sequence across 1,000 subjects; then the latency at a fixed offered
// rate of half the best measured maximum. Targets: ours ≥ 0.50 × raw, and p99
// under 1 ms at half load.
//
// The half-load runs print, at the same offered rate and from the same
// generator: the generator alone (its own floor), the raw synchronous
// appends, then ours with "raw-p99-µs" beside. Each prints "cpu-cores": half
// the closed-loop maximum is not half the CPU, since with a few operations in
// flight nothing batches (85–105 µs of CPU per operation against 73–82 in the
// closed loop), so the 2 cores run 60–70 % busy. There the p99 is set by GC:
// in traces every operation of the p99 tail, raw or ours, overlapped a GC
// mark phase (20–100 ms each, marking the embedded server's heap too, whose
// assists also slow its one goroutine per stream), and one such phase in a
// run is enough to hold 1 % of its operations.
func BenchmarkDecideThousandPools(b *testing.B) {
	js := benchJS(b)
	var raw load.Best
	rawRate := func(b *testing.B) float64 {
		if raw.Rate() == 0 {
			raw.Keep(load.Measure(func() load.Result {
				return load.RawPipelined(b, js, eventlog.LedgerStream, rawSubjects(manyPools), rawPayload, 200000)
			}))
		}
		// load.Closed and load.Open reset the timer, which restarts only a
		// running one: after a preliminary measurement (which stops it) start
		// it again, or the run times nothing and the framework keeps raising
		// b.N (up to 1e9) so the benchmark never ends.
		b.StartTimer()
		return raw.Rate()
	}
	b.Run("raw-pipelined-msgid-expect-seq", func(b *testing.B) {
		r, cpu := load.Measure(func() load.Result {
			return load.RawPipelined(b, js, eventlog.LedgerStream, rawSubjects(manyPools), rawPayload, b.N)
		})
		raw.Keep(r, cpu)
		r.Report(b, "msg/s", 0)
		load.ReportCPU(b, cpu, 0)
	})
	// The same appends made synchronously by as many callers as ours: what
	// the store can reach at that concurrency (the pipelined figure keeps
	// 4,000 appends in flight, a closed loop of g callers at most g).
	sameCallers := map[int]*load.Best{}
	for _, g := range []int{64, 256, 1024} {
		sameCallers[g] = &load.Best{}
		b.Run(fmt.Sprintf("raw-sync-msgid-expect-seq-callers-%d", g), func(b *testing.B) {
			r, cpu := load.Measure(func() load.Result { return rawSyncMany(b, js, rawSubjects(manyPools), rawPayload, g, b.N) })
			sameCallers[g].Keep(r, cpu)
			r.Report(b, "msg/s", 0)
			load.ReportCPU(b, cpu, 0)
		})
	}
	l := newLauncher(b, js, manyPools)
	maxima := map[int]*load.Best{}
	for _, g := range []int{64, 256, 1024} {
		maxima[g] = &load.Best{}
		b.Run(fmt.Sprintf("decide-callers-%d", g), func(b *testing.B) {
			rr := rawRate(b)
			op, advance := l.op()
			r, cpu := load.Measure(func() load.Result { return load.Closed(b, g, b.N, op) })
			advance(b.N)
			maxima[g].Keep(r, cpu)
			r.Report(b, "auth/s", rr)
			load.ReportCPU(b, cpu, raw.CPUPerOp())
			if same := sameCallers[g].Rate(); same > 0 {
				b.ReportMetric(r.PerSec()/same, "ratio-to-raw-same-callers")
			}
		})
	}
	// Both half-load runs offer half the best maximum of ours, measured once
	// (here when the maxima were filtered out).
	var top float64
	half := func(b *testing.B) float64 {
		if top == 0 {
			for _, m := range maxima {
				top = max(top, m.Rate())
			}
		}
		if top == 0 {
			op, advance := l.op()
			r := load.Closed(b, 256, 50000, op)
			advance(50000)
			top = r.PerSec()
			b.StartTimer() // as in rawRate
		}
		return top / 2
	}
	// The generator alone (an operation that does nothing) at the same rate:
	// how late this machine wakes a sleeping goroutine, a floor under every
	// open-loop latency below. On a 2-core VM it is about 0.5 ms at p50
	// (runtime timers fire on a millisecond epoll timeout when the process is
	// idle) and 1.5–4 ms at p99 (the VM's wake-ups: nanosleep itself
	// overshoots by ~0.9 ms at p99 there), at any rate from 1 k/s up.
	b.Run("generator-half-load", func(b *testing.B) {
		rate := half(b)
		r := load.Open(b, rate, 512, b.N, func(int) error { return nil })
		r.Report(b, "op/s", 0)
		b.ReportMetric(rate, "offered/s")
	})
	// The raw appends our decisions are made of (synchronous, Nats-Msg-Id,
	// expected subject sequence, 1,000 subjects), offered at the same rate by
	// the same generator: the latency the machine gives at that load, before
	// any work of ours.
	var rawHalf load.Best
	b.Run("raw-sync-half-load", func(b *testing.B) {
		rate := half(b)
		op := rawSyncOp(b, js, rawSubjects(manyPools), rawPayload)
		r, cpu := load.Measure(func() load.Result { return load.Open(b, rate, 512, b.N, op) })
		rawHalf.Keep(r, cpu)
		r.Report(b, "msg/s", 0)
		b.ReportMetric(rate, "offered/s")
		load.ReportCPU(b, cpu, 0)
		reportCores(b, r, cpu)
	})
	b.Run("decide-half-load", func(b *testing.B) {
		rate := half(b)
		op, advance := l.op()
		r, cpu := load.Measure(func() load.Result { return load.Open(b, rate, 512, b.N, op) })
		advance(b.N)
		r.Report(b, "auth/s", 0)
		b.ReportMetric(rate, "offered/s")
		load.ReportCPU(b, cpu, rawHalf.CPUPerOp())
		reportCores(b, r, cpu)
		if rr := rawHalf.Result(); rr.Ops > 0 {
			b.ReportMetric(float64(rr.Quantile(0.99).Nanoseconds())/1e3, "raw-p99-µs")
		}
		l.reportCovered(b)
	})
}

// reportCores prints how many cores the process kept busy during a run, on
// average ("cpu-cores"; this machine's limit is its core count).
func reportCores(b *testing.B, r load.Result, cpuPerOp time.Duration) {
	if r.Elapsed > 0 {
		b.ReportMetric(float64(cpuPerOp)*float64(r.Ops)/float64(r.Elapsed), "cpu-cores")
	}
}

// rawSyncMany publishes n messages of payload bytes from g goroutines, each
// waiting for its acknowledgement (see rawSyncOp).
func rawSyncMany(b *testing.B, js jetstream.JetStream, names []string, payload, g, n int) load.Result {
	b.Helper()
	return load.Closed(b, g, n, rawSyncOp(b, js, names, payload))
}

// rawSyncOp returns an operation publishing message i on subject
// i%len(names), waiting for its acknowledgement, with a Nats-Msg-Id and the
// subject's expected last sequence; like the store, one append at a time per
// subject.
func rawSyncOp(b *testing.B, js jetstream.JetStream, names []string, payload int) func(i int) error {
	b.Helper()
	ctx := context.Background()
	stream, err := js.Stream(ctx, eventlog.LedgerStream)
	if err != nil {
		b.Fatal(err)
	}
	type subject struct {
		mu   sync.Mutex
		last uint64
	}
	subjects := make([]subject, len(names))
	for i, name := range names {
		m, err := stream.GetLastMsgForSubject(ctx, name)
		switch {
		case err == nil:
			subjects[i].last = m.Sequence
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			b.Fatal(err)
		}
	}
	data := make([]byte, payload)
	id := fmt.Sprintf("raw-sync-%d-", time.Now().UnixNano())
	return func(i int) error {
		sub := &subjects[i%len(names)]
		sub.mu.Lock()
		defer sub.mu.Unlock()
		msg := nats.NewMsg(names[i%len(names)])
		msg.Data = data
		ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(id+strconv.Itoa(i)), jetstream.WithExpectLastSequencePerSubject(sub.last))
		if err != nil {
			return err
		}
		sub.last = ack.Sequence
		return nil
	}
}
