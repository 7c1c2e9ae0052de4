package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// stack is every process of the suite and what they share.
type stack struct {
	t        *testing.T
	natsURL  string
	seeds    string // directory of each identity's nkey seed
	database string // the ClickHouse database reporting projects into

	nats, ledgerA, ledgerB, ingestion, reporting, alerting *proc
}

// procs lists the components in the order they start.
func (s *stack) procs() []*proc {
	return []*proc{s.nats, s.ledgerA, s.ledgerB, s.ingestion, s.alerting, s.reporting}
}

// startStack starts nats-server, two ledger replicas, ingestion (calling the
// first replica), alerting and reporting, each as its own NATS identity.
func startStack(t *testing.T, bin, database string) *stack {
	t.Helper()
	s := &stack{t: t, seeds: t.TempDir(), database: database}
	s.nats = s.natsServer(bin)
	common := func(identity, listen string) []string {
		return []string{"TOKENMETER_NATS_URL=" + s.natsURL, "TOKENMETER_API_KEYS=" + devstack.APIKeys(),
			"TOKENMETER_LISTEN=" + listen, "TOKENMETER_LOG_LEVEL=info",
			"TOKENMETER_NATS_CREDS=" + natsauth.SeedFile(s.seeds, identity), "TOKENMETER_USER_HASH_KEY=" + testkit.UserHashKey}
	}
	svc := func(name, identity string, env ...string) *proc {
		addr := freeAddr(t)
		return &proc{name: name, bin: filepath.Join(bin, identity), addr: addr, grpc: true,
			env: append(common(identity, addr), env...)}
	}
	replica := func(id string) []string {
		return []string{"TOKENMETER_REPLICA_ID=" + id, "TOKENMETER_PEER_API_KEY=" + devstack.ServiceKey}
	}
	s.ledgerA = svc("ledger-a", "ledger", replica("ledger-a")...)
	s.ledgerB = svc("ledger-b", "ledger", replica("ledger-b")...)
	// No per-key rate limit: what sheds the load is ingestion's in-flight
	// bound, set low enough that a burst a race-instrumented test can send
	// on two cores goes past it.
	s.ingestion = svc("ingestion", "ingestion", "TOKENMETER_LEDGER_ADDR="+s.ledgerA.addr, "TOKENMETER_LEDGER_RING=true",
		"TOKENMETER_LEDGER_API_KEY="+devstack.ServiceKey, "TOKENMETER_RATE_LIMIT=0",
		fmt.Sprintf("TOKENMETER_MAX_IN_FLIGHT=%d", maxInFlight))
	s.alerting = svc("alerting", "alerting")
	s.reporting = svc("reporting", "reporting", "TOKENMETER_CLICKHOUSE_ADDR="+testkit.ClickHouseAddr(),
		"TOKENMETER_CLICKHOUSE_DATABASE="+database, "TOKENMETER_LEDGER_ADDR="+s.ledgerA.addr,
		"TOKENMETER_LEDGER_API_KEY="+devstack.ReportingKey)
	s.reporting.args = []string{"-console-listen="} // no console: its default port is shared
	for _, p := range s.procs() {
		t.Cleanup(p.stop)
		require.NoError(t, p.start())
	}
	return s
}

// natsServer configures nats-server with JetStream, a store that outlives
// its restarts, and one nkey user per identity with libs/natsauth's
// permissions (the shipped auth.conf, its keys from the environment).
func (s *stack) natsServer(bin string) *proc {
	t := s.t
	pubs, err := natsauth.WriteSeeds(s.seeds, natsauth.Names()...)
	require.NoError(t, err)
	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	dir := t.TempDir()
	conf := fmt.Sprintf("host: 127.0.0.1\nport: %s\nserver_name: chaos\nmax_payload: 1MB\n"+
		"jetstream { store_dir: %q }\n%s", port, filepath.Join(dir, "store"), natsauth.Conf())
	path := filepath.Join(dir, "nats.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	var env []string
	for name, pub := range pubs {
		env = append(env, natsauth.NkeyEnv(name)+"="+pub)
	}
	s.natsURL = "nats://" + addr
	return &proc{name: "nats", bin: filepath.Join(bin, "nats-server"), args: []string{"-c", path},
		env: env, addr: addr}
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
