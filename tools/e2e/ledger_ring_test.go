package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/ring"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
	"github.com/tokenmeter/tokenmeter/services/ledger"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

const ringPeerKey = "e2e-ring-peer-key"

// ringLedger is a ledger replica of a ring, stopped by stop.
type ringLedger struct {
	svc  *ledger.Service
	stop func()
}

func startRingLedger(t *testing.T, natsURL, id string, files certs.Files) ringLedger {
	t.Helper()
	var c ledger.Config
	flagDefaults(c.Register)
	c.NATSURL, c.NATSCreds, c.Listen, c.TLS = natsURL, testkit.Creds(t, natsURL, "ledger"), "127.0.0.1:0", files
	c.APIKeys = devstack.Keys("ledger") + "," + ringPeerKey + ":*:service:ledger"
	c.ReplicaID, c.PeerAPIKey, c.UserHashKey = id, ringPeerKey, devstack.UserHashKey
	c.RateLimit = 0 // the set-up's thousand admin calls
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := ledger.New(ctx, c, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ledger %s: %v", id, err)
		}
	})
	t.Cleanup(stop)
	return ringLedger{svc: svc, stop: stop}
}

// One ingestion with -ledger-ring in front of two ledger replicas: each
// pool's launches go to the replica that owns it (neither forwards one); a
// replica announced but unreachable (crashed, not yet stale) has its pools'
// launches retried once on the next replica; stopping a replica under load
// moves its pools to the other with nothing refused but retryable answers;
// and each launch is charged once.
func TestIngestionRoutesByLedgerRing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const pools, users, rounds, rate = 12, 20, 4, 10
	natsURL, _ := testkit.NATS(t)
	a, b, ing := startRing(t, natsURL, "ring", certs.Files{})
	teams := ringPools(t, dial(t, a.svc.Addr(), devstack.AdminKey), "ring", pools, rounds*users, rate)
	load := &ringLoad{client: v1.NewIngestionServiceClient(dial(t, ing.Addr(), devstack.GatewayKey)), teams: teams, users: users}
	req := ledgerRequests(t, "ring-a", "ring-b", "ring-ghost")
	members := map[string]string{"ring-a": a.svc.Addr(), "ring-b": b.svc.Addr()}
	requireOwnersDecide(t, load, req, members, a, b)

	// A replica that crashed is still announced for a while: its pools'
	// launches fail there and go once to the next replica.
	members["ring-ghost"] = announceGhost(t, natsURL)
	require.Eventually(t, func() bool { return len(ing.LedgerReplicas()) == 3 }, 10*time.Second, 20*time.Millisecond)
	owned := ownedLaunches(teams, users, members)
	require.Positive(t, owned["ring-ghost"], "the ghost owns pools")
	before := req.take()
	load.run(ctx, t, 1, nil)
	moved := req.take().since(before)
	require.Equal(t, owned["ring-ghost"], moved["ring-ghost/first"])
	require.Equal(t, owned["ring-ghost"], moved["ring-a/retry"]+moved["ring-b/retry"], "each of the ghost's launches retried once")
	withdrawGhost(t, natsURL)

	// Under load, ring-a stops: its pools move to ring-b.
	var during int64
	load.run(ctx, t, 2, func() {
		from := load.answered.Load()
		a.stop() // on one of the launching goroutines: the others go on
		during = load.answered.Load() - from
	})
	require.Positive(t, during, "launches were answered while ring-a stopped")
	require.Eventually(t, func() bool { return slices.Equal(ing.LedgerReplicas(), []string{"ring-b"}) }, 10*time.Second, 20*time.Millisecond)
	before = req.take()
	load.run(ctx, t, 3, nil)
	require.Equal(t, float64(pools*users), req.take().since(before)["ring-b/first"], "ring-b decides every pool once ring-a is gone")
	t.Logf("launches answered while ring-a stopped: %d; retryable answers to the launcher: %d", during, load.retried.Load())

	requireChargedOnce(t, natsURL, teams, rounds*users, rate)
}

// The same over mutual TLS: ingestion dials each replica with its
// certificate and the service key, as it dials -ledger-addr.
func TestIngestionRoutesByLedgerRingOverTLS(t *testing.T) {
	t.Parallel()
	f := testkit.Certs(t)
	files := certs.Files{Cert: f.Cert, Key: f.Key, ClientCA: f.CA, CA: f.CA}
	natsURL, _ := testkit.NATS(t)
	a, b, ing := startRing(t, natsURL, "tls", files)
	trusting, err := certs.Files{CA: f.CA}.Client()
	require.NoError(t, err)
	dialTLS := func(addr, key string) *grpc.ClientConn {
		conn, err := grpcserver.DialTLS(addr, key, trusting)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	teams := ringPools(t, dialTLS(a.svc.Addr(), devstack.AdminKey), "tls", 8, 10, 10)
	load := &ringLoad{client: v1.NewIngestionServiceClient(dialTLS(ing.Addr(), devstack.GatewayKey)), teams: teams, users: 10}
	members := map[string]string{"tls-a": a.svc.Addr(), "tls-b": b.svc.Addr()}
	requireOwnersDecide(t, load, ledgerRequests(t, "tls-a", "tls-b"), members, a, b)
}

// startRing starts replicas prefix-a and prefix-b and an ingestion seeded
// with the first, once all three see the ring.
func startRing(t *testing.T, natsURL, prefix string, files certs.Files) (a, b ringLedger, ing *ingestion.Service) {
	t.Helper()
	a, b = startRingLedger(t, natsURL, prefix+"-a", files), startRingLedger(t, natsURL, prefix+"-b", files)
	ing = startRingIngestion(t, natsURL, a.svc.Addr(), files)
	require.Eventually(t, func() bool {
		return len(ing.LedgerReplicas()) == 2 && a.svc.Replicas() == 2 && b.svc.Replicas() == 2
	}, 15*time.Second, 20*time.Millisecond, "ingestion and both replicas see the ring")
	return a, b, ing
}

// requireOwnersDecide runs round 0: each launch goes to its pool's owner,
// neither replica forwards one, none is retried.
func requireOwnersDecide(t *testing.T, load *ringLoad, req ringRequests, members map[string]string, a, b ringLedger) {
	t.Helper()
	owned := ownedLaunches(load.teams, load.users, members)
	before := req.take()
	load.run(t.Context(), t, 0, nil)
	moved := req.take().since(before)
	for id := range members {
		require.Positive(t, owned[id], "the pools spread over both replicas")
		require.Equal(t, owned[id], moved[id+"/first"], "%s decided its pools' launches", id)
		require.Zero(t, moved[id+"/retry"])
	}
	require.Zero(t, a.svc.Forwarded()+b.svc.Forwarded(), "no replica forwarded a launch: each came to its owner")
}

func startRingIngestion(t *testing.T, natsURL, seed string, files certs.Files) *ingestion.Service {
	t.Helper()
	var ic ingestion.Config
	flagDefaults(ic.Register)
	ic.NATSURL, ic.NATSCreds, ic.Listen, ic.TLS = natsURL, testkit.Creds(t, natsURL, "ingestion"), "127.0.0.1:0", files
	ic.APIKeys, ic.LedgerAPIKey, ic.LedgerAddr, ic.LedgerRing = devstack.Keys("ingestion"), devstack.ServiceKey, seed, true
	ic.RateLimit = 0
	ctx, stop := context.WithCancel(context.Background())
	ing, err := ingestion.New(ctx, ic, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- ing.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	return ing
}

// ownedLaunches counts a round's launches by the replica owning their pool.
func ownedLaunches(teams []string, users int, members map[string]string) map[string]float64 {
	owners := ring.New("", ring.StaleAfter, time.Now)
	for id, addr := range members {
		owners.Apply(id, []byte(addr), true)
	}
	out := map[string]float64{}
	for _, team := range teams {
		out[owners.Ranked(ring.PoolKey(devstack.DemoOrg, team))[0].ID] += float64(users)
	}
	return out
}

// announceGhost announces, as a ledger replica would, one whose address
// refuses connections, and returns that address.
func announceGhost(t *testing.T, natsURL string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = membersBucket(t, natsURL).PutString(t.Context(), "ring-ghost", addr)
	require.NoError(t, err)
	return addr
}

func withdrawGhost(t *testing.T, natsURL string) {
	t.Helper()
	require.NoError(t, membersBucket(t, natsURL).Delete(t.Context(), "ring-ghost"))
}

func membersBucket(t *testing.T, natsURL string) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, "ledger")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	kv, err := js.KeyValue(t.Context(), ring.MembersBucket)
	require.NoError(t, err)
	return kv
}

// ringRequests reads ingestion's ledger requests per replica and attempt.
type ringRequests struct {
	t    *testing.T
	addr string
	ids  []string
}

type requestCounts map[string]float64

func ledgerRequests(t *testing.T, ids ...string) ringRequests {
	metricsURL, err := processMetrics()
	require.NoError(t, err)
	return ringRequests{t: t, addr: strings.TrimSuffix(strings.TrimPrefix(metricsURL, "http://"), "/metrics"), ids: ids}
}

// take reads the counts now, by "replica/attempt".
func (r ringRequests) take() requestCounts {
	out := requestCounts{}
	m := testkit.Scrape(r.t, r.addr)
	for _, id := range r.ids {
		for _, attempt := range []string{"first", "retry"} {
			out[id+"/"+attempt] = m.Value("tokenmeter_ingestion_ledger_requests_total", "replica", id, "attempt", attempt)
		}
	}
	return out
}

func (c requestCounts) since(before requestCounts) requestCounts {
	out := requestCounts{}
	for k, v := range c {
		out[k] = v - before[k]
	}
	return out
}

// ringPools makes n pools of the demo organisation, each with users users
// and tokens for every launch of the test.
func ringPools(t *testing.T, conn *grpc.ClientConn, prefix string, n, users, rate int) []string {
	t.Helper()
	ctx := t.Context()
	admin := v1.NewLedgerServiceClient(conn)
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "ring-rate", ProductCode: "REVIT", DailyRate: int64(rate)})
	require.NoError(t, err)
	teams := make([]string, n)
	for p := range teams {
		teams[p] = fmt.Sprintf("%s-team-%02d", prefix, p)
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: "ring-pack-" + teams[p], TeamId: teams[p], PackId: "p1", Tokens: 1_000_000})
		require.NoError(t, err)
		for i := 0; i < 3*users; i++ {
			u := fmt.Sprintf("u%02d", i)
			_, err := admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "ring-assign-" + teams[p] + u, TeamId: teams[p], UserId: u, ProductCodes: []string{"REVIT"}})
			require.NoError(t, err)
		}
	}
	return teams
}

// ringLoad launches through ingestion, retrying retryable answers with the
// same event id as a launcher does.
type ringLoad struct {
	client  v1.IngestionServiceClient
	teams   []string
	users   int // per pool and round
	retried atomic.Int64
	// answered counts the launches answered, over the rounds.
	answered atomic.Int64
}

// run launches once for each of the round's users in every pool, eight at
// a time, calling half (when set) once half are answered; each must end
// authorized.
func (l *ringLoad) run(ctx context.Context, t *testing.T, round int, half func()) {
	t.Helper()
	var wg sync.WaitGroup
	total := int64(l.users * len(l.teams))
	first := l.answered.Load()
	work := make(chan [2]string)
	errs := make(chan error, total)
	for range 8 {
		wg.Go(func() {
			for job := range work {
				errs <- l.launch(ctx, job[0], job[1])
				if l.answered.Add(1)-first == total/2 && half != nil {
					half()
				}
			}
		})
	}
	for u := round * l.users; u < (round+1)*l.users; u++ {
		for _, team := range l.teams {
			work <- [2]string{team, fmt.Sprintf("u%02d", u)}
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "round %d", round)
	}
}

// launch launches until answered, and errs unless authorized after
// retryable answers only.
func (l *ringLoad) launch(ctx context.Context, team, user string) error {
	req := &v1.LaunchRequest{EventId: "ring-" + team + "-" + user, TeamId: team, UserId: user, ProductCode: "REVIT"}
	for attempt := 0; ; attempt++ {
		resp, err := l.client.Launch(ctx, req)
		switch code := status.Code(err); {
		case err == nil && resp.GetDecision() == v1.Decision_DECISION_AUTHORIZED:
			return nil
		case err == nil:
			return fmt.Errorf("%s: %s", req.GetEventId(), resp.GetDecision())
		case code != codes.Unavailable && code != codes.ResourceExhausted:
			return fmt.Errorf("%s refused: %w", req.GetEventId(), err)
		case attempt == 20:
			return fmt.Errorf("%s never answered: %w", req.GetEventId(), err)
		}
		l.retried.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
}

// requireChargedOnce reads every pool's LEDGER events: each event id there
// once, and launches charges of rate each.
func requireChargedOnce(t *testing.T, natsURL string, teams []string, launches, rate int) {
	t.Helper()
	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, "reader")...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	for _, team := range teams {
		seen, charged := map[string]int{}, int64(0)
		_, err := eventlog.ReadSubject(t.Context(), js, eventlog.LedgerStream, eventlog.LedgerSubject(devstack.DemoOrg, team), 0, func(st eventlog.Stored) error {
			seen[st.Event.GetEventId()]++
			if c := st.Event.GetWindowCharged(); c != nil {
				for _, s := range c.GetSplit() {
					charged += s.GetTokens()
				}
			}
			return nil
		})
		require.NoError(t, err)
		for id, n := range seen {
			require.Equal(t, 1, n, "%s appended %d times", id, n)
		}
		require.EqualValues(t, launches*rate, charged, "%s: one charge per launch", team)
	}
}
