package chaos

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// The launches' world: two teams (each with its own launcher key), their
// users, and products whose rates drain the packs within a run, so that
// refusals for want of tokens happen too.
var (
	teams    = map[string]string{"design": devstack.LauncherKey, "civil": "dev-launcher-civil"}
	products = map[string]int64{"REVIT": 3, "ACAD": 2, "CIVIL3D": 5}
)

// stackConfig is the layout a run starts: TestChaos's one NATS server and
// one reporting process, or TestClusterChaos's cluster.
type stackConfig struct {
	// natsNodes is 1 (one server) or 3 (a cluster: routes, every stream and
	// bucket replicated on all three through the services' replica flags).
	natsNodes int
	// reporting replicas share the projection through leases.
	reporting int
	// partitions splits LEDGER and USAGE (the ledger's and ingestion's
	// -partitions); 0 keeps one stream each.
	partitions int
	// balanceInterval is the ledgers' -balance-interval (0: their default).
	balanceInterval time.Duration
	// clickhouse is where reporting projects; nil: a fresh database on the
	// shared server (oneClickHouse).
	clickhouse func(*testing.T) clickHouseTarget
}

// stack is every process of the suite and what they share.
type stack struct {
	t       *testing.T
	cfg     stackConfig
	natsURL string // every node's URL, comma-separated
	seeds   string // directory of each identity's nkey seed
	ch      clickHouseTarget

	nats, ledgerA, ledgerB, ingestion, reporting, alerting *proc
	// natsNodes are all the NATS servers (nats first), reportings all the
	// reporting replicas (reporting first).
	natsNodes, reportings []*proc
}

// procs lists the components in the order they start.
func (s *stack) procs() []*proc { return append(slices.Clone(s.natsNodes), s.services()...) }

// services are the processes that depend on NATS: every one but its servers.
func (s *stack) services() []*proc {
	return append([]*proc{s.ledgerA, s.ledgerB, s.ingestion, s.alerting}, s.reportings...)
}

// startStack starts nats-server (or a cluster of them), two ledger
// replicas, ingestion (calling the first replica and following the ring),
// alerting and reporting, each as its own NATS identity. Each service takes
// its free port just before it starts, so that little time is left for
// another program to take it.
func startStack(t *testing.T, bin string, cfg stackConfig) *stack {
	t.Helper()
	if cfg.clickhouse == nil {
		cfg.clickhouse = oneClickHouse
	}
	ch := cfg.clickhouse(t)
	s := &stack{t: t, cfg: cfg, seeds: t.TempDir(), ch: ch}
	s.natsNodes = s.natsServers(bin)
	s.nats = s.natsNodes[0]
	// A cluster's nodes are ready only together: each waits for the others.
	var g errgroup.Group
	for _, p := range s.natsNodes {
		t.Cleanup(p.stop)
		g.Go(p.start)
	}
	require.NoError(t, g.Wait())
	s.ledgerA = s.run(s.service(bin, "ledger-a", "ledger", s.ledgerEnv("ledger-a")...))
	s.ledgerB = s.run(s.service(bin, "ledger-b", "ledger", s.ledgerEnv("ledger-b")...))
	// No per-key rate limit: what sheds the load is ingestion's in-flight
	// bound, set low enough that a burst a race-instrumented test can send
	// on two cores goes past it.
	s.ingestion = s.run(s.service(bin, "ingestion", "ingestion", append(s.layout("TOKENMETER_REPLICAS", true),
		"TOKENMETER_LEDGER_ADDR="+s.ledgerA.addr, "TOKENMETER_LEDGER_RING=true",
		"TOKENMETER_LEDGER_API_KEY="+devstack.ServiceKey, "TOKENMETER_RATE_LIMIT=0",
		fmt.Sprintf("TOKENMETER_MAX_IN_FLIGHT=%d", maxInFlight))...))
	s.alerting = s.run(s.service(bin, "alerting", "alerting", s.layout("TOKENMETER_STREAM_REPLICAS", false)...))
	for i := range max(cfg.reporting, 1) {
		name := "reporting"
		if i > 0 {
			name = fmt.Sprintf("reporting-%c", 'a'+i)
		}
		r := s.service(bin, name, "reporting", append(append(s.layout("TOKENMETER_REPLICAS", false), ch.env...),
			"TOKENMETER_LEDGER_ADDR="+s.ledgerA.addr, "TOKENMETER_LEDGER_API_KEY="+devstack.ReportingKey)...)
		r.args = []string{"-console-listen="} // no console: its default port is shared
		s.reportings = append(s.reportings, s.run(r))
	}
	s.reporting = s.reportings[0]
	return s
}

// run starts p, to be stopped when the test ends.
func (s *stack) run(p *proc) *proc {
	s.t.Cleanup(p.stop)
	require.NoError(s.t, p.start())
	return p
}

// service is one service process as identity, on a port of its own.
func (s *stack) service(bin, name, identity string, env ...string) *proc {
	addr := freeAddr(s.t)
	common := []string{"TOKENMETER_NATS_URL=" + s.natsURL, "TOKENMETER_API_KEYS=" + devstack.APIKeys(),
		"TOKENMETER_LISTEN=" + addr, "TOKENMETER_LOG_LEVEL=info",
		"TOKENMETER_NATS_CREDS=" + natsauth.SeedFile(s.seeds, identity), "TOKENMETER_USER_HASH_KEY=" + testkit.UserHashKey}
	return &proc{name: name, bin: filepath.Join(bin, identity), addr: addr, grpc: true, env: append(common, env...)}
}

func (s *stack) ledgerEnv(id string) []string {
	env := append(s.layout("TOKENMETER_STREAM_REPLICAS", true),
		"TOKENMETER_REPLICA_ID="+id, "TOKENMETER_PEER_API_KEY="+devstack.ServiceKey)
	if s.cfg.balanceInterval > 0 {
		env = append(env, "TOKENMETER_BALANCE_INTERVAL="+s.cfg.balanceInterval.String())
	}
	return env
}

// layout is a service's share of the stack's layout: its replica flag
// (named replicas) set to the cluster's size, and the partitions when the
// service writes partitioned streams.
func (s *stack) layout(replicas string, partitioned bool) []string {
	var env []string
	if s.cfg.natsNodes > 1 {
		env = append(env, fmt.Sprintf("%s=%d", replicas, s.cfg.natsNodes))
	}
	if partitioned && s.cfg.partitions > 1 {
		env = append(env, fmt.Sprintf("TOKENMETER_PARTITIONS=%d", s.cfg.partitions))
	}
	return env
}

// seed sets the products' rates, gives each team a pack of tokens tokens and
// assigns it users users, through the first replica as the admin.
func (s *stack) seed(tokens int64, users int) {
	t := s.t
	conn, err := grpcserver.Dial(s.ledgerA.addr, devstack.AdminKey)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	admin := v1.NewLedgerServiceClient(conn)
	ctx := t.Context()
	for code, rate := range products {
		_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: code, DailyRate: rate})
		require.NoError(t, err)
	}
	var g errgroup.Group
	g.SetLimit(16)
	for team := range teams {
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "chaos", Tokens: tokens})
		require.NoError(t, err)
		for u := range users {
			g.Go(func() error {
				_, err := admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: team,
					UserId: userName(u), ProductCodes: []string{"*"}})
				return err
			})
		}
	}
	require.NoError(t, g.Wait())
}

func userName(i int) string { return fmt.Sprintf("u%04d", i) }
