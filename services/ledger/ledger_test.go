package ledger_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

const (
	adminKey   = "test-admin-key"
	serviceKey = "test-service-key" // ingestion's
	peerKey    = "test-peer-key"
	// reporting's service key reads balances.
	reportingKey = "test-reporting-key"
	// People's roles: a viewer, and an admin of acme's design team.
	viewerKey    = "test-viewer-key"
	teamAdminKey = "test-team-admin-key"
	// Another organisation's admin and a launcher key of acme's design team.
	globexAdminKey = "test-globex-admin-key"
	launcherKey    = "test-launcher-key"
	ownerKey       = "test-owner-key"
	keys           = ownerKey + ":acme:owner," + adminKey + ":acme:admin," + serviceKey + ":*:service:ingestion," + peerKey + ":*:service:ledger," + reportingKey + ":*:service:reporting," +
		globexAdminKey + ":globex:admin," + viewerKey + ":acme:viewer," +
		teamAdminKey + ":acme:team-admin:design," + launcherKey + ":acme:launcher:design"
)

type replica struct {
	svc     *ledger.Service
	cancel  context.CancelFunc
	done    chan error
	stopped sync.Once
}

// startReplica starts a ledger replica; each of with changes its config.
func startReplica(t *testing.T, natsURL, id string, with ...func(*ledger.Config)) *replica {
	t.Helper()
	return startReplicaVia(t, natsURL, natsURL, id, with...)
}

// startReplicaVia is startReplica reaching the server at natsURL through
// dialURL (a proxy).
func startReplicaVia(t *testing.T, natsURL, dialURL, id string, with ...func(*ledger.Config)) *replica {
	t.Helper()
	var cfg ledger.Config
	cfg.NATSURL, cfg.APIKeys, cfg.Listen = dialURL, keys, "127.0.0.1:0"
	cfg.NATSCreds = testkit.Creds(t, natsURL, "ledger")
	cfg.StreamReplicas, cfg.ShutdownTimeout, cfg.SnapshotEvery, cfg.IdleTimeout = 1, 5*time.Second, 50, 15*time.Minute
	cfg.ReplicaID, cfg.PeerAPIKey = id, peerKey
	cfg.UserHashKey = testkit.UserHashKey
	for _, f := range with {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := ledger.New(ctx, cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	r := &replica{svc: svc, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- svc.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop stops the replica, once (a test's stop and its cleanup's).
func (r *replica) stop() {
	r.stopped.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
		}
	})
}

func client(t *testing.T, addr, key string) v1.LedgerServiceClient {
	t.Helper()
	conn, err := grpcserver.Dial(addr, key)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return v1.NewLedgerServiceClient(conn)
}

// Three replicas, thousands of concurrent launches with duplicates on a few
// small pools, and one replica stopped and restarted mid-stream: no balance
// below zero, each event id charged once, the packs' losses equal the
// charges, the denials exactly the launches the pools could not pay.
func TestReplicasUnderLoad(t *testing.T) {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	replicas := []*replica{startReplica(t, natsURL, "r1"), startReplica(t, natsURL, "r2"), startReplica(t, natsURL, "r3")}
	require.Eventually(t, func() bool {
		for _, r := range replicas {
			if r.svc.Replicas() != 3 {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "every replica sees the ring")

	const pools, perPool, tokens, rate = 8, 120, 405, 10 // each pool pays 40 charges, 5 left
	admin := client(t, replicas[0].svc.Addr(), adminKey)
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: "REVIT", DailyRate: rate})
	require.NoError(t, err)
	for p := 0; p < pools; p++ {
		team := fmt.Sprintf("team-%d", p)
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: team, PackId: "p1", Tokens: tokens})
		require.NoError(t, err)
		for u := 0; u < perPool; u++ {
			_, err := admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: team, UserId: fmt.Sprintf("u%d", u), ProductCodes: []string{"REVIT"}})
			require.NoError(t, err)
		}
	}

	svcClients := make([]v1.LedgerServiceClient, 3)
	for i, r := range replicas {
		svcClients[i] = client(t, r.svc.Addr(), serviceKey)
	}
	var mu sync.Mutex
	answers := map[string][]*v1.LaunchResponse{}
	authorize := func(id, team, user string, rng *rand.Rand) {
		req := &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: id, TeamId: team, UserId: user, ProductCode: "REVIT"}}
		for attempt := 0; ; attempt++ {
			mu.Lock()
			c := svcClients[rng.IntN(3)]
			mu.Unlock()
			resp, err := c.Authorize(auth.ActingFor(ctx, "acme"), req)
			if err == nil {
				mu.Lock()
				answers[id] = append(answers[id], resp.GetResult())
				mu.Unlock()
				return
			}
			// A replica shutting down answers Unavailable: retry the same id elsewhere.
			code := status.Code(err)
			require.Contains(t, []codes.Code{codes.Unavailable, codes.Aborted, codes.Canceled}, code, "%v", err)
			require.Less(t, attempt, 50, "launch %s never answered: %v", id, err)
		}
	}

	var wg sync.WaitGroup
	restarted := make(chan struct{})
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := w; i < pools*perPool; i += 16 {
				team, user := fmt.Sprintf("team-%d", i%pools), fmt.Sprintf("u%d", i/pools)
				id := fmt.Sprintf("launch-%s-%s", team, user)
				authorize(id, team, user, rng)
				authorize(id, team, user, rng) // duplicate delivery, maybe to another replica
				if i == pools*perPool/2 {
					// Stop replica r2 mid-stream and bring it back under the same name.
					replicas[1].stop()
					r := startReplica(t, natsURL, "r2")
					mu.Lock()
					replicas[1], svcClients[1] = r, client(t, r.svc.Addr(), serviceKey)
					mu.Unlock()
					close(restarted)
				}
			}
		}()
	}
	wg.Wait()
	<-restarted

	var forwarded int64
	for _, r := range replicas {
		forwarded += r.svc.Forwarded()
	}
	require.Positive(t, forwarded, "calls reaching a replica that does not own the pool are forwarded")

	for id, list := range answers {
		for _, a := range list[1:] {
			require.Equal(t, list[0].GetDecision(), a.GetDecision(), id)
			require.Equal(t, list[0].GetTokensCharged(), a.GetTokensCharged(), id)
			require.Equal(t, list[0].GetBalanceAfter(), a.GetBalanceAfter(), id)
		}
	}

	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, "ledger")...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	for p := 0; p < pools; p++ {
		team := fmt.Sprintf("team-%d", p)
		seen := map[string]int{}
		charged, denied := 0, 0
		var lost int64
		_, err := eventlog.ReadSubject(ctx, js, eventlog.LedgerStream, eventlog.LedgerSubject("acme", team), 0, func(st eventlog.Stored) error {
			seen[st.Event.GetEventId()]++
			if c := st.Event.GetWindowCharged(); c != nil {
				charged++
				for _, s := range c.GetSplit() {
					lost += s.GetTokens()
				}
				require.GreaterOrEqual(t, c.GetPool().GetAvailable(), int64(0))
			}
			if d := st.Event.GetLaunchDenied(); d != nil {
				denied++
				require.Less(t, d.GetPool().GetAvailable(), int64(rate), "denied only what the pool could not pay")
			}
			return nil
		})
		require.NoError(t, err)
		for id, n := range seen {
			require.Equal(t, 1, n, "%s appended %d times", id, n)
		}
		require.Equal(t, tokens/rate, charged, team)
		require.Equal(t, perPool-tokens/rate, denied, team)
		require.EqualValues(t, charged*rate, lost, "the packs' losses equal the charges")
		b, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: team})
		require.NoError(t, err)
		require.EqualValues(t, tokens%rate, b.GetBalance().GetAvailable())
	}
}
