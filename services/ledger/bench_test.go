package ledger

// Whole-service benchmarks: Authorize over gRPC (auth, validation, the store,
// JetStream) against the raw JetStream appends it is made of, measured on the
// same embedded server in the same run. Run with
//
//	go test -run '^$' -bench . -benchtime 5s .
//
// Each parent benchmark starts its own embedded NATS server and ledger
// (ledger.New on 127.0.0.1:0, snapshots every 1,000 events as by default),
// measures the raw figure first, then ours; every line of ours carries
// "raw-msg/s" and "ratio-to-raw", and "cpu-µs/op", "raw-cpu-µs/op" and
// "cpu-ratio" (the process's CPU time per operation, embedded server
// included: steadier than throughput on a machine shared with other work).
// Run one package at a time (go test -p 1): two benchmarking at once halve
// each other's throughput. The measuring helpers (load.Best, load.Measure,
// load.ReportCPU) are libs/testkit/load's, shared with internal/store's.

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

const (
	benchOrg        = "acme"
	benchAdminKey   = "bench-admin-key"
	benchServiceKey = "bench-service-key"
	benchProducts   = 10 // in the catalog, rate 1
	manyPools       = 1000
	rawPayload      = 200 // bytes, as in DESIGN.md's yardstick
	dayLength       = 24 * time.Hour
)

var benchT0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// benchJS starts an embedded server and provisions the streams as the ledger
// does; everything stops when the benchmark ends. The raw figures publish on
// this connection, the ledger on its own.
func benchJS(b *testing.B) (string, jetstream.JetStream) {
	b.Helper()
	url, _ := testkit.NATS(b)
	nc, err := nats.Connect(url, testkit.Options(b, url, "ledger")...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if err := eventlog.Provision(context.Background(), js, eventlog.StreamOptions{}, eventlog.LedgerStream); err != nil {
		b.Fatal(err)
	}
	return url, js
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

func teamName(i int) string { return fmt.Sprintf("t%04d", i) }

// usersPerPool is how many users every pool has, each assigned every product.
// Launch k of a pool is user k%users, product k/users%10, on day
// k/(users*10) (the receipt time ingestion stamps): every launch opens a new
// (user, product) window and is charged, as long as a pool's launches of one
// (user, product) are decided in time order (a launch stamped before its
// window's start is covered by it). One pool gets many users, so that
// concurrent callers, whose tickets may be decided slightly out of order,
// never reach the same (user, product) at once.
func usersPerPool(pools int) int {
	if pools == 1 {
		return 1000
	}
	return 10
}

// benchLedger runs a ledger on the embedded server at url, prices products
// P0..P9 at 1 token a day, and gives every pool a pack that lasts (2^50
// tokens, expiring in a century) with the bench users assigned to every
// product. It returns a service client.
func benchLedger(b *testing.B, url string, pools int) v1.LedgerServiceClient {
	b.Helper()
	var cfg Config
	cfg.NATSURL, cfg.Listen = url, "127.0.0.1:0"
	cfg.NATSCreds, cfg.UserHashKey = testkit.Creds(b, url, "ledger"), testkit.UserHashKey
	cfg.APIKeys = benchAdminKey + ":" + benchOrg + ":admin," + benchServiceKey + ":*:service:ingestion"
	cfg.StreamReplicas, cfg.ShutdownTimeout, cfg.SnapshotEvery = 1, 5*time.Second, 1000
	cfg.IdleTimeout, cfg.SweepInterval = 15*time.Minute, time.Minute
	cfg.Now = func() time.Time { return benchT0 }
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			b.Error("ledger did not stop")
		}
	})
	admin := benchClient(b, svc.Addr(), benchAdminKey)
	for p := range benchProducts {
		_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: fmt.Sprintf("P%d", p), DailyRate: 1,
			EffectiveFrom: timestamppb.New(benchT0.Add(-time.Hour))})
		if err != nil {
			b.Fatal(err)
		}
	}
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
				_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-" + team, TeamId: team, PackId: "big",
					Tokens: 1_000_000_000_000, ExpiresAt: timestamppb.New(benchT0.AddDate(50, 0, 0))})
				for u := 0; err == nil && u < usersPerPool(pools); u++ {
					_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: team, UserId: fmt.Sprintf("u%d", u), ProductCodes: []string{"*"}})
				}
				if err != nil {
					errs <- fmt.Errorf("seed %s: %w", team, err)
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
	return benchClient(b, svc.Addr(), benchServiceKey)
}

func benchClient(b *testing.B, addr, key string) v1.LedgerServiceClient {
	b.Helper()
	conn, err := grpcserver.Dial(addr, key)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return v1.NewLedgerServiceClient(conn)
}

// authorizer sends launch number i (of a counter that never goes back, so
// state carries over between the benchmark's runs): pool i%pools, and a new
// (user, product, day) window in that pool every time.
type authorizer struct {
	c     v1.LedgerServiceClient
	pools int
	users int
	base  atomic.Int64
	// covered counts launches an open window covered (decided out of time
	// order): still one append each, reported when not zero.
	covered atomic.Int64
}

func newAuthorizer(c v1.LedgerServiceClient, pools int) *authorizer {
	return &authorizer{c: c, pools: pools, users: usersPerPool(pools)}
}

// reportCovered adds the number of launches a window covered, if any.
func (a *authorizer) reportCovered(b *testing.B) {
	if c := a.covered.Swap(0); c > 0 {
		b.ReportMetric(float64(c), "covered")
	}
}

func (a *authorizer) request(i int) *v1.AuthorizeRequest {
	k := i / a.pools
	return &v1.AuthorizeRequest{
		Launch: &v1.LaunchRequest{EventId: fmt.Sprintf("launch-%08d", i), TeamId: teamName(i % a.pools), UserId: fmt.Sprintf("u%d", k%a.users),
			ProductCode: fmt.Sprintf("P%d", k/a.users%benchProducts), DeviceId: "bench", ProductVersion: "2026"},
		ReceivedAt: timestamppb.New(benchT0.Add(time.Duration(k/(a.users*benchProducts)) * dayLength)),
	}
}

func (a *authorizer) check(i int, r *v1.LaunchResponse) error {
	if r.GetDecision() != v1.Decision_DECISION_AUTHORIZED {
		return fmt.Errorf("launch %d on %s: %v %v: every bench launch must be authorized", i, teamName(i%a.pools), r.GetDecision(), r.GetDenyReason())
	}
	if r.GetTokensCharged() == 0 {
		a.covered.Add(1)
	}
	return nil
}

func (a *authorizer) authorize(ctx context.Context, i int) error {
	resp, err := a.c.Authorize(ctx, a.request(i))
	if err != nil {
		return fmt.Errorf("authorize %d on %s: %w", i, teamName(i%a.pools), err)
	}
	return a.check(i, resp.GetResult())
}

// batches sends b.N launches (at least one call's) as AuthorizeBatch calls of
// size launches by callers concurrent callers; rates and CPU are per launch,
// latency per call.
func (a *authorizer) batches(b *testing.B, callers, size int) (load.Result, time.Duration) {
	base := int(a.base.Load())
	ctx := auth.ActingFor(context.Background(), benchOrg)
	calls := max(1, b.N/size)
	r, cpu := load.Measure(func() load.Result {
		r := load.Closed(b, callers, calls, func(i int) error { return a.authorizeBatch(ctx, base+i*size, size) })
		r.Ops *= size
		return r
	})
	a.base.Add(int64(calls * size))
	return r, cpu
}

// authorizeBatch sends launches first..first+size-1 in one AuthorizeBatch call.
func (a *authorizer) authorizeBatch(ctx context.Context, first, size int) error {
	req := &v1.AuthorizeBatchRequest{Launches: make([]*v1.AuthorizeRequest, size)}
	for j := range size {
		req.Launches[j] = a.request(first + j)
	}
	resp, err := a.c.AuthorizeBatch(ctx, req)
	if err != nil {
		return fmt.Errorf("authorize batch from %d: %w", first, err)
	}
	for j, o := range resp.GetOutcomes() {
		if o.GetErrorCode() != 0 {
			return fmt.Errorf("launch %d in a batch: code %d: %s", first+j, o.GetErrorCode(), o.GetErrorMessage())
		}
		if err := a.check(first+j, o.GetResult()); err != nil {
			return err
		}
	}
	return nil
}

// op returns the operation authorizing launch base+i, and advance, which
// moves the base on past the launches a run sent.
func (a *authorizer) op() (func(i int) error, func(n int)) {
	base := int(a.base.Load())
	ctx := auth.ActingFor(context.Background(), benchOrg)
	return func(i int) error { return a.authorize(ctx, base+i) }, func(n int) { a.base.Add(int64(n)) }
}

// BenchmarkAuthorizeOnePool: Authorize over gRPC on one pool, sequential and
// with concurrent callers, beside synchronous publish with the expected
// subject sequence on one subject. Target: ours ≥ 0.70 × raw.
func BenchmarkAuthorizeOnePool(b *testing.B) {
	url, js := benchJS(b)
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
	a := newAuthorizer(benchLedger(b, url, 1), 1)
	b.Run("grpc-floor-quote", func(b *testing.B) {
		// A call with the same gRPC, auth and telemetry but no JetStream (a
		// quote reads the pool and appends nothing): what the transport
		// alone costs per sequential call, on a call ingestion's key may make.
		ctx := auth.ActingFor(context.Background(), benchOrg)
		quote := &v1.QuoteLaunchRequest{Quote: &v1.QuoteRequest{TeamId: teamName(0), UserId: "u0", ProductCode: "P0"}}
		r := load.Closed(b, 1, b.N, func(int) error {
			_, err := a.c.QuoteLaunch(ctx, quote)
			return err
		})
		r.Report(b, "call/s", 0)
	})
	for _, g := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("authorize-callers-%d", g), func(b *testing.B) {
			rr := rawRate(b)
			op, advance := a.op()
			r, cpu := load.Measure(func() load.Result { return load.Closed(b, g, b.N, op) })
			advance(b.N)
			r.Report(b, "auth/s", rr)
			load.ReportCPU(b, cpu, raw.CPUPerOp())
			a.reportCovered(b)
		})
	}
	// What ingestion sends when a team's launchers start at once: concurrent
	// launches coalesced into AuthorizeBatch calls (4 callers each sending 16
	// launches a call: 64 in flight, as authorize-callers-64). The pool still
	// decides and appends them one by one; the gRPC call is shared.
	b.Run("authorize-batch-4x16", func(b *testing.B) {
		rr := rawRate(b)
		r, cpu := a.batches(b, 4, 16)
		r.Report(b, "auth/s", rr)
		load.ReportCPU(b, cpu, raw.CPUPerOp())
		a.reportCovered(b)
	})
}

// BenchmarkAuthorizeThousandPools: Authorize over gRPC spread over 1,000
// pools by concurrent callers, beside pipelined publish with Nats-Msg-Id and
// expected subject sequence across 1,000 subjects; then the latency at a
// fixed offered rate of half the best measured maximum. authorize-batch-16x16
// is the same load sent as ingestion sends it (AuthorizeBatch). Targets: ours
// ≥ 0.50 × raw, and p99 under 1 ms at half load.
func BenchmarkAuthorizeThousandPools(b *testing.B) {
	url, js := benchJS(b)
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
	a := newAuthorizer(benchLedger(b, url, manyPools), manyPools)
	maxima := map[int]*load.Best{}
	for _, g := range []int{64, 256} {
		maxima[g] = &load.Best{}
		b.Run(fmt.Sprintf("authorize-callers-%d", g), func(b *testing.B) {
			rr := rawRate(b)
			op, advance := a.op()
			r, cpu := load.Measure(func() load.Result { return load.Closed(b, g, b.N, op) })
			advance(b.N)
			maxima[g].Keep(r, cpu)
			r.Report(b, "auth/s", rr)
			load.ReportCPU(b, cpu, raw.CPUPerOp())
		})
	}
	// What ingestion sends: concurrent launches coalesced into AuthorizeBatch
	// calls (16 callers each sending 16 launches a call: 256 in flight, as
	// authorize-callers-256). Rates and CPU are per launch, latency per call.
	b.Run("authorize-batch-16x16", func(b *testing.B) {
		rr := rawRate(b)
		r, cpu := a.batches(b, 16, 16)
		r.Report(b, "auth/s", rr)
		load.ReportCPU(b, cpu, raw.CPUPerOp())
	})
	var top float64 // the best maximum, measured once
	b.Run("authorize-half-load", func(b *testing.B) {
		for _, m := range maxima {
			top = max(top, m.Rate())
		}
		if top == 0 { // the maxima were filtered out: measure one here, once
			op, advance := a.op()
			r := load.Closed(b, 256, 50000, op)
			advance(50000)
			top = r.PerSec()
			b.StartTimer() // as in rawRate
		}
		op, advance := a.op()
		r := load.Open(b, top/2, 512, b.N, op)
		advance(b.N)
		r.Report(b, "auth/s", 0)
		b.ReportMetric(top/2, "offered/s")
		a.reportCovered(b)
	})
}
