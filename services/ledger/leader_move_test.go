package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/balance"
)

// A balancer's move is a stepdown of the pool's stream leader under
// launches: each launch answers OK, or Unavailable promptly and then OK when
// retried with its event id; every launch is charged once.
func TestLaunchesSurviveLeaderMoves(t *testing.T) {
	urls, _ := testkit.NATSClusterNodes(t, 3)
	r := startReplica(t, urls, "solo", withPartitions(3), func(c *ledger.Config) { c.StreamReplicas, c.BalanceInterval = 3, 0 })
	admin, svc := client(t, r.svc.Addr(), adminKey), client(t, r.svc.Addr(), serviceKey)
	ctx := auth.ActingFor(t.Context(), "acme")
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "move-rate", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: "move-pack", TeamId: "design", PackId: "p1", Tokens: 1000})
	require.NoError(t, err)
	const launches = 20
	for i := range launches {
		_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: fmt.Sprintf("move-assign-%d", i), TeamId: "design", UserId: fmt.Sprintf("u%d", i), ProductCodes: []string{"REVIT"}})
		require.NoError(t, err)
	}
	js, err := jetstream.New(testkit.Connect(t, urls, "admin"))
	require.NoError(t, err)
	stream := subject.LedgerStreamOf(subject.PartitionOf("acme", "design", 3))

	moved, unavailable := 0, 0
	var last *v1.AuthorizeResponse
	for i := range launches {
		if i%5 == 0 && moveLeader(t, js, stream) {
			moved++
		}
		req := &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: fmt.Sprintf("move-launch-%d", i), TeamId: "design", UserId: fmt.Sprintf("u%d", i), ProductCode: "REVIT"}}
		for attempt := 0; ; attempt++ {
			start := time.Now()
			last, err = svc.Authorize(ctx, req)
			if err == nil {
				break
			}
			require.Equal(t, codes.Unavailable, status.Code(err), "launch %d: %v", i, err)
			require.Less(t, time.Since(start), 5*time.Second, "launch %d answered Unavailable late", i)
			require.Less(t, attempt, 50, "launch %d never went through", i)
			unavailable++
			<-time.After(100 * time.Millisecond) // the caller's retry pause
		}
		require.Equal(t, v1.Decision_DECISION_AUTHORIZED, last.GetResult().GetDecision(), "launch %d", i)
	}
	t.Logf("%d leader moves, %d Unavailable answers retried", moved, unavailable)
	require.GreaterOrEqual(t, moved, 3, "the stream's leader moved under the launches")
	require.EqualValues(t, 1000-10*launches, last.GetResult().GetBalanceAfter(), "each launch charged once")
}

// moveLeader asks stream's leader to hand over to another node, as the
// balancer does, and reports whether it did.
func moveLeader(t *testing.T, js jetstream.JetStream, stream string) bool {
	t.Helper()
	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		return false // just after a move the stream's info may not answer
	}
	from := s.CachedInfo().Cluster.Leader
	for _, to := range []string{"tm-0", "tm-1", "tm-2"} {
		if to != from {
			return balance.StepDown(t.Context(), js, stream, to) == nil
		}
	}
	return false
}
