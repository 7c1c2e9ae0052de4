package launcher_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/launcher"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

var fast = launcher.Retry{Attempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Timeout: time.Second}

func TestRetriesReuseTheEventID(t *testing.T) {
	srv := &standIn{failures: 3}
	addr, stop := serve(srv)
	defer stop()
	c, err := launcher.New(launcher.Options{Addr: addr, Retry: fast})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()

	req := &v1.LaunchRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT"}
	resp, err := c.Launch(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, resp.GetDecision())
	require.Equal(t, map[string]int{req.GetEventId(): 1}, srv.seen, "three failures, then one event taken once")

	srv.failures = 10
	_, err = c.Launch(t.Context(), &v1.LaunchRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	require.Equal(t, codes.Unavailable, status.Code(err), "attempts are bounded")
	require.Equal(t, 6, srv.failures, "four attempts")
}

func TestNonRetryableErrorsReturnAtOnce(t *testing.T) {
	addr, stop := serve(&standIn{})
	defer stop()
	c, err := launcher.New(launcher.Options{Addr: addr, Retry: fast})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	_, err = c.Quote(t.Context(), &v1.QuoteRequest{TeamId: "design"})
	require.Equal(t, codes.Unimplemented, status.Code(err))
	require.False(t, launcher.Retryable(err))
}

// Events queued while offline survive the launcher's restart and are sent
// once, in order, when the service is back.
func TestOfflineQueueSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens: offline

	offline, err := launcher.New(launcher.Options{Addr: down, QueueDir: dir, Retry: fast})
	require.NoError(t, err)
	var ids []string
	for range 3 {
		req := &v1.HeartbeatRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT", Active: true}
		_, err := offline.Heartbeat(t.Context(), req)
		require.True(t, errors.Is(err, launcher.ErrQueued), "%v", err)
		ids = append(ids, req.GetEventId())
	}
	end := &v1.EndSessionRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT"}
	require.ErrorIs(t, offline.End(t.Context(), end), launcher.ErrQueued)
	ids = append(ids, end.GetEventId())
	launch := &v1.LaunchRequest{EventId: launcher.NewEventID(), TeamId: "design", UserId: "ann", ProductCode: "ACAD"}
	require.NoError(t, offline.Record(&v1.OfflineEvent{Event: &v1.OfflineEvent_Launch{Launch: launch}}))
	ids = append(ids, launch.GetEventId())
	_, err = offline.Flush(t.Context())
	require.Error(t, err, "still offline")
	require.NoError(t, offline.Close())

	srv := &standIn{failures: 1}
	addr, stop := serve(srv)
	defer stop()
	restarted, err := launcher.New(launcher.Options{Addr: addr, QueueDir: dir, Retry: fast})
	require.NoError(t, err)
	defer func() { _ = restarted.Close() }()
	n, err := restarted.Pending()
	require.NoError(t, err)
	require.Equal(t, 5, n, "the queue outlived the process")
	flushed, err := restarted.Flush(t.Context())
	require.NoError(t, err)
	require.Len(t, flushed.Results, 5)
	require.Equal(t, ids, srv.order, "in the order recorded")
	for _, id := range ids {
		require.Equal(t, 1, srv.seen[id], id)
	}
	n, err = restarted.Pending()
	require.NoError(t, err)
	require.Zero(t, n)
}

// A reopened queue continues after the events still in it, never over them.
func TestQueueContinuesAfterPending(t *testing.T) {
	dir := t.TempDir()
	q, err := launcher.OpenQueue(dir)
	require.NoError(t, err)
	ev := func(id string) *v1.OfflineEvent {
		return &v1.OfflineEvent{Event: &v1.OfflineEvent_Launch{Launch: &v1.LaunchRequest{EventId: id}}}
	}
	require.NoError(t, q.Push(ev("evt-a-000001")))
	require.NoError(t, q.Push(ev("evt-b-000002")))
	again, err := launcher.OpenQueue(dir)
	require.NoError(t, err)
	require.NoError(t, again.Push(ev("evt-c-000003")))
	got, err := again.Peek(10)
	require.NoError(t, err)
	var ids []string
	for _, g := range got {
		ids = append(ids, g.Event.GetLaunch().GetEventId())
	}
	require.Equal(t, []string{"evt-a-000001", "evt-b-000002", "evt-c-000003"}, ids)
	require.NoError(t, again.Remove(got[0].Pos))
	n, err := again.Len()
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
