package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// While the log is unreachable a decision answers Unavailable with a retry
// hint within a bounded time, however long the caller would wait; when the
// log is back, decisions go through again by themselves.
func TestLogOutageAnswersUnavailablePromptly(t *testing.T) {
	natsURL, srv := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	svc := client(t, r.svc.Addr(), serviceKey)
	ctx := t.Context()
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "outage-rate-1", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: "outage-pack-1", TeamId: "design", PackId: "p1", Tokens: 1000})
	require.NoError(t, err)
	_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "outage-assign-1", TeamId: "design", UserId: "ann", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)
	launch := func(ctx context.Context, n int) error {
		_, err := svc.Authorize(auth.ActingFor(ctx, "acme"), &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{
			EventId: fmt.Sprintf("outage-launch-%04d", n), TeamId: "design", UserId: fmt.Sprintf("user-%d", n), ProductCode: "REVIT"}})
		return err
	}
	_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "outage-assign-2", TeamId: "design", UserId: "user-1", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)

	restart := testkit.StopNATS(t, srv)
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	err = launch(callCtx, 1)
	took := time.Since(start)
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Less(t, took, 3*time.Second, "answered after %s", took)
	var hinted bool
	for _, d := range status.Convert(err).Details() {
		_, hinted = d.(*errdetails.RetryInfo)
	}
	require.True(t, hinted, "Unavailable carries RetryInfo")

	restart()
	require.Eventually(t, func() bool { return launch(ctx, 1) == nil }, 20*time.Second, 200*time.Millisecond,
		"decisions resume once the log is back")
}

// An append in flight when the log stops answering (a NATS server killed or
// hung, a network dropping packets) gets no acknowledgement: the decision
// answers Unavailable with a retry hint after the append timeout, not at the
// caller's deadline, and the retry under the same event id finds the event.
func TestStalledLogAnswersUnavailablePromptly(t *testing.T) {
	natsURL, _ := testkit.NATS(t)
	proxy := testkit.NewProxy(t, strings.TrimPrefix(natsURL, "nats://"))
	r := startReplicaVia(t, natsURL, "nats://"+proxy.Addr(), "solo")
	admin := client(t, r.svc.Addr(), adminKey)
	svc := client(t, r.svc.Addr(), serviceKey)
	ctx := t.Context()
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "stall-rate-1", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: "stall-pack-1", TeamId: "design", PackId: "p1", Tokens: 1000})
	require.NoError(t, err)
	_, err = admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "stall-assign-1", TeamId: "design", UserId: "ann", ProductCodes: []string{"REVIT"}})
	require.NoError(t, err)
	launch := func(ctx context.Context) (*v1.AuthorizeResponse, error) {
		return svc.Authorize(auth.ActingFor(ctx, "acme"), &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{
			EventId: "stall-launch-1", TeamId: "design", UserId: "ann", ProductCode: "REVIT"}})
	}

	proxy.Stall()
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err = launch(callCtx)
	took := time.Since(start)
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	require.Less(t, took, 3*time.Second, "answered after %s", took)
	var hinted bool
	for _, d := range status.Convert(err).Details() {
		_, hinted = d.(*errdetails.RetryInfo)
	}
	require.True(t, hinted, "Unavailable carries RetryInfo")

	proxy.Flow()
	resp, err := launch(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 990, resp.GetResult().GetBalanceAfter(), "charged once")
}
