package capacity

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// The sizing workload: every user of every team, each day, launches one
// product (a charge), launches it again (covered by the window), sends
// heartbeatsPerSession heartbeats and ends the session.
const (
	sizingTeams          = 100
	usersPerTeam         = 20
	sizingDays           = 3
	heartbeatsPerSession = 2
	// sizingCallers is enough to reach the keys' rate limit.
	sizingCallers = 8
)

var sizingProducts = map[string]int64{"REVIT": 10, "ACAD": 7, "CIVIL3D": 9, "3DSMAX": 6, "FUSION": 2}

// BenchmarkSizing runs the sizing workload once through the whole stack
// (devstack: ingestion, ledger, reporting into a fresh ClickHouse database,
// alerting) and prints what it left behind, the inputs of docs/CAPACITY.md's
// storage arithmetic: events each kind of call appends to LEDGER and USAGE
// ("ledger-ev/charge", "usage-ev/launch", ...), the streams' bytes per event
// as JetStream counts them and as the store's files take on disk, and
// ClickHouse's bytes on disk per launch and per USAGE event after the
// projection caught up and every table was merged (OPTIMIZE … FINAL), from
// system.parts. b.N is not used: the workload is the same every run.
func BenchmarkSizing(b *testing.B) {
	env := startSizing(b)
	env.seed(b)
	var launches, usageEvents float64
	for day := range sizingDays {
		env.clk.set(env.t0.Add(time.Duration(day) * 24 * time.Hour))
		launches += float64(env.phase(b, "charge", func(u int) error { return env.launch(u, day, true) }))
		env.clk.set(env.t0.Add(time.Duration(day)*24*time.Hour + time.Hour))
		launches += float64(env.phase(b, "relaunch", func(u int) error { return env.launch(u, day, false) }))
		for h := range heartbeatsPerSession {
			env.clk.set(env.t0.Add(time.Duration(day)*24*time.Hour + time.Duration(2+h)*time.Hour))
			env.phase(b, "heartbeat", func(u int) error { return env.heartbeat(u, day, h) })
		}
		env.phase(b, "end", func(u int) error { return env.end(u, day) })
	}
	for _, s := range env.sums {
		b.ReportMetric(float64(s.ledger)/float64(s.calls), "ledger-ev/"+s.kind)
		b.ReportMetric(float64(s.usage)/float64(s.calls), "usage-ev/"+s.kind)
		usageEvents += float64(s.usage)
	}
	env.reportStreams(b)
	env.reportClickHouse(b, launches, usageEvents)
}

type sizingEnv struct {
	stack  *devstack.Stack
	clk    *fakeClock
	t0     time.Time
	js     jetstream.JetStream
	store  string // the NATS server's JetStream directory
	ingest v1.IngestionServiceClient
	svc    context.Context
	db     string
	ch     clickHouse
	start  map[string]streamSize // the streams before the workload
	sums   []*phaseSum
	mu     sync.Mutex
	window map[[2]int]string // (user, day) -> window id
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func startSizing(b *testing.B) *sizingEnv {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url, srv := testkit.NATS(b)
	conn, db := testkit.ClickHouse(b)
	t0 := time.Now().UTC().Truncate(24 * time.Hour).Add(-sizingDays * 24 * time.Hour).Add(8 * time.Hour)
	clk := &fakeClock{now: t0}
	stack, err := devstack.Start(ctx, devstack.Options{
		NATSURL: url, NATSCreds: testkit.AllCreds(b, url), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0", AlertingListen: "127.0.0.1:0",
		Now: clk.Now, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		if err := stack.Wait(); err != nil {
			b.Error(err)
		}
	})
	js, err := jetstream.New(testkit.Connect(b, url, "admin"))
	if err != nil {
		b.Fatal(err)
	}
	return &sizingEnv{
		stack: stack, clk: clk, t0: t0, js: js, store: srv.JetStreamConfig().StoreDir,
		ingest: v1.NewIngestionServiceClient(dialBench(b, stack.Ingestion.Addr(), devstack.GatewayKey)),
		svc:    auth.ActingFor(context.Background(), devstack.DemoOrg),
		db:     db, ch: clickHouse{conn}, window: map[[2]int]string{},
	}
}

func dialBench(b *testing.B, addr, key string) *grpc.ClientConn {
	b.Helper()
	conn, err := grpcserver.Dial(addr, key)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

// seed prices the products, gives every team a pack and assigns its users
// every product, then records the streams' sizes.
func (e *sizingEnv) seed(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	admin := v1.NewLedgerServiceClient(dialBench(b, e.stack.Ledger.Addr(), devstack.AdminKey))
	for code, rate := range sizingProducts {
		if _, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: code, DailyRate: rate}); err != nil {
			b.Fatal(err)
		}
	}
	_, err := load.Run(sizingCallers, sizingTeams*usersPerTeam, func(u int) error {
		team, user := sizingUser(u)
		if u%usersPerTeam == 0 {
			req := &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "annual", Tokens: 10_000_000}
			if err := paced(func() error { _, err := admin.AddPack(ctx, req); return err }); err != nil {
				return err
			}
		}
		req := &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: team, UserId: user, ProductCodes: []string{"*"}}
		return paced(func() error { _, err := admin.AssignUser(ctx, req); return err })
	})
	if err != nil {
		b.Fatal(err)
	}
	e.start = e.streams(b)
}

// paced makes call again, the same request, while the key's rate limit
// refuses it (an admin or launcher key may make 500 calls a second, which
// sets how long the workload takes).
func paced(call func() error) error {
	for {
		err := call()
		if status.Code(err) != codes.ResourceExhausted {
			return err
		}
		time.Sleep(10 * time.Millisecond) // the limiter's refill, not a synchronisation
	}
}

// sizingUser is user u's team and user id (36 characters, as a directory's
// object id); assignments are made before any
// launch, so the user's first AssignUser has landed by its first launch.
func sizingUser(u int) (team, user string) {
	return fmt.Sprintf("team-%03d", u/usersPerTeam), fmt.Sprintf("%08d-0000-4000-8000-%012d", u, u)
}

func sizingProduct(u, day int) string {
	codes := []string{"REVIT", "ACAD", "CIVIL3D", "3DSMAX", "FUSION"}
	return codes[(u+day)%len(codes)]
}

func (e *sizingEnv) launch(u, day int, first bool) error {
	team, user := sizingUser(u)
	req := &v1.LaunchRequest{
		EventId: uuid.NewString(), TeamId: team, UserId: user, ProductCode: sizingProduct(u, day),
		ProductVersion: "2027.1", DeviceId: fmt.Sprintf("WS-%05d", u), Attributes: map[string]string{"project": fmt.Sprintf("P-%03d", u%37)},
	}
	var resp *v1.LaunchResponse
	err := paced(func() (err error) { resp, err = e.ingest.Launch(e.svc, req); return err })
	if err != nil {
		return err
	}
	if resp.GetDecision() != v1.Decision_DECISION_AUTHORIZED || (resp.GetTokensCharged() > 0) != first {
		return fmt.Errorf("launch of user %d day %d: %v, %d tokens: want authorized, charged only on the first", u, day, resp.GetDecision(), resp.GetTokensCharged())
	}
	e.mu.Lock()
	e.window[[2]int{u, day}] = resp.GetWindowId()
	e.mu.Unlock()
	return nil
}

func (e *sizingEnv) session(u, day int) (team, user, product, device, window string) {
	team, user = sizingUser(u)
	e.mu.Lock()
	defer e.mu.Unlock()
	return team, user, sizingProduct(u, day), fmt.Sprintf("WS-%05d", u), e.window[[2]int{u, day}]
}

func (e *sizingEnv) heartbeat(u, day, h int) error {
	team, user, product, device, window := e.session(u, day)
	req := &v1.HeartbeatRequest{EventId: uuid.NewString(), TeamId: team, UserId: user,
		ProductCode: product, DeviceId: device, WindowId: window, Active: h%2 == 0}
	return paced(func() error { _, err := e.ingest.Heartbeat(e.svc, req); return err })
}

func (e *sizingEnv) end(u, day int) error {
	team, user, product, device, window := e.session(u, day)
	req := &v1.EndSessionRequest{EventId: uuid.NewString(), TeamId: team, UserId: user,
		ProductCode: product, DeviceId: device, WindowId: window}
	return paced(func() error { _, err := e.ingest.EndSession(e.svc, req); return err })
}

// phaseSum is what the calls of one kind appended over the workload.
type phaseSum struct {
	kind                 string
	calls, ledger, usage uint64
}

// phase makes one call of a kind for every user, and adds the events they
// appended to the kind's sums; it returns the number of calls.
func (e *sizingEnv) phase(b *testing.B, kind string, call func(u int) error) int {
	b.Helper()
	before := e.streams(b)
	n := sizingTeams * usersPerTeam
	if _, err := load.Run(sizingCallers, n, call); err != nil {
		b.Fatalf("%s: %v", kind, err)
	}
	after := e.streams(b)
	var s *phaseSum
	for _, x := range e.sums {
		if x.kind == kind {
			s = x
		}
	}
	if s == nil {
		s = &phaseSum{kind: kind}
		e.sums = append(e.sums, s)
	}
	s.calls += uint64(n)
	s.ledger += after[eventlog.LedgerStream].msgs - before[eventlog.LedgerStream].msgs
	s.usage += after[eventlog.UsageStream].msgs - before[eventlog.UsageStream].msgs
	return n
}
