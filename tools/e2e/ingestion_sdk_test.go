package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/launcher"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

func setUpDesign(t *testing.T, ledgerAddr string, tokens int64, users ...string) v1.LedgerServiceClient {
	t.Helper()
	ctx := t.Context()
	admin := v1.NewLedgerServiceClient(dial(t, ledgerAddr, devstack.AdminKey))
	for code, rate := range map[string]int64{"REVIT": 10, "ACAD": 7} {
		_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: uuid.NewString(), ProductCode: code, DailyRate: rate})
		require.NoError(t, err)
	}
	_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: uuid.NewString(), TeamId: "design", PackId: "p1", Tokens: tokens})
	require.NoError(t, err)
	for _, u := range users {
		_, err := admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: uuid.NewString(), TeamId: "design", UserId: u, ProductCodes: []string{"*"}})
		require.NoError(t, err)
	}
	return admin
}

// The SDK rides out a ledger stopped and restarted mid-run: it retries under
// the same event ids, queues what it cannot send, and in the end every launch
// is charged once and every event is on the log once.
func TestSDKThroughLedgerRestart(t *testing.T) {
	ctx := t.Context()
	led, ing, _ := ledgerAndIngestion(t)
	users := []string{"u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08"}
	admin := setUpDesign(t, led.addr, 1000, users...)
	patient := launcher.Retry{Attempts: 100, BaseDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond, Timeout: 2 * time.Second}
	sdk, err := launcher.New(launcher.Options{Addr: ing.Addr(), APIKey: devstack.LauncherKey, QueueDir: t.TempDir(), Retry: patient})
	require.NoError(t, err)
	defer func() { _ = sdk.Close() }()
	impatient, err := launcher.New(launcher.Options{Addr: ing.Addr(), APIKey: devstack.LauncherKey, Retry: launcher.Retry{Attempts: 1}})
	require.NoError(t, err)
	defer func() { _ = impatient.Close() }()

	var mu sync.Mutex
	answers := map[string]*v1.LaunchResponse{}
	var requests []*v1.LaunchRequest
	launch := func(user, product string) {
		req := &v1.LaunchRequest{TeamId: "design", UserId: user, ProductCode: product, DeviceId: user + "-pc"}
		resp, err := sdk.Launch(ctx, req)
		require.NoError(t, err)
		mu.Lock()
		defer mu.Unlock()
		answers[req.GetEventId()] = resp
		requests = append(requests, req)
	}
	for _, u := range users[:4] {
		launch(u, "REVIT")
	}

	led.stop()
	down := &v1.LaunchRequest{EventId: launcher.NewEventID(), TeamId: "design", UserId: "u05", ProductCode: "ACAD"}
	_, err = impatient.Launch(ctx, down)
	require.Equal(t, codes.Unavailable, status.Code(err), "the ledger is down: no answer is 'authorized'")
	_, err = sdk.Heartbeat(ctx, &v1.HeartbeatRequest{TeamId: "design", UserId: "u01", ProductCode: "REVIT", Active: true})
	if err != nil {
		require.ErrorIs(t, err, launcher.ErrQueued, "a heartbeat the ledger cannot take waits on disk")
	}
	var wg sync.WaitGroup
	for _, u := range users[4:] {
		wg.Go(func() { launch(u, "REVIT") })
	}
	wg.Go(func() { launch("u01", "ACAD") })
	led.start()
	wg.Wait()

	// The launch refused while the ledger was down, retried under its id.
	resp, err := sdk.Launch(ctx, down)
	require.NoError(t, err)
	answers[down.GetEventId()], requests = resp, append(requests, down)
	_, err = sdk.Flush(ctx)
	require.NoError(t, err)
	pending, err := sdk.Pending()
	require.NoError(t, err)
	require.Zero(t, pending)

	// Everything again: the same answers, nothing charged twice.
	for _, req := range requests {
		again, err := sdk.Launch(ctx, req)
		require.NoError(t, err)
		require.Equal(t, answers[req.GetEventId()].GetTokensCharged(), again.GetTokensCharged(), req.GetEventId())
		require.Equal(t, answers[req.GetEventId()].GetWindowId(), again.GetWindowId(), req.GetEventId())
	}
	want := int64(8*10 + 7 + 7) // eight Revit windows, two Autocad ones
	bal, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	require.Equal(t, want, bal.GetBalance().GetUsed())
	var charged int64
	for _, a := range answers {
		require.Equal(t, v1.Decision_DECISION_AUTHORIZED, a.GetDecision())
		charged += a.GetTokensCharged()
	}
	require.Equal(t, want, charged)

	// Each launch is on the USAGE stream exactly once.
	js := jetStream(t, led.nats, "reader")
	seen := map[string]int{}
	_, err = eventlog.ReadSubject(ctx, js, eventlog.UsageStream, eventlog.UsageSubject(devstack.DemoOrg, "design"), 0, func(s eventlog.Stored) error {
		if s.Event.GetLaunchReceived() != nil {
			seen[s.Event.GetEventId()]++
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, seen, len(answers))
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
}

// A batch cut short by a crash and sent again yields each event once.
func TestBatchResentAfterCrashYieldsEachOnce(t *testing.T) {
	ctx := t.Context()
	led, ing, _ := ledgerAndIngestion(t)
	admin := setUpDesign(t, led.addr, 1000, "ann", "bob", "carl")
	ingest := v1.NewIngestionServiceClient(dial(t, ing.Addr(), devstack.LauncherKey))
	var events []*v1.OfflineEvent
	for i, u := range []string{"ann", "bob", "carl"} {
		for j, p := range []string{"REVIT", "ACAD"} {
			events = append(events, &v1.OfflineEvent{Event: &v1.OfflineEvent_Launch{Launch: &v1.LaunchRequest{
				EventId: fmt.Sprintf("offline-%d-%d-0000", i, j), TeamId: "design", UserId: u, ProductCode: p}}})
		}
		events = append(events, &v1.OfflineEvent{Event: &v1.OfflineEvent_EndSession{EndSession: &v1.EndSessionRequest{
			EventId: fmt.Sprintf("offline-end-%d-00", i), TeamId: "design", UserId: u, ProductCode: "REVIT"}}})
	}
	// The first half went through before the launcher crashed unanswered.
	first, err := ingest.IngestBatch(ctx, &v1.IngestBatchRequest{Events: events[:4]})
	require.NoError(t, err)
	all, err := ingest.IngestBatch(ctx, &v1.IngestBatchRequest{Events: events})
	require.NoError(t, err)
	require.Len(t, all.GetResults(), len(events))
	for i, r := range first.GetResults() {
		require.Equal(t, r.GetLaunch().GetTokensCharged(), all.GetResults()[i].GetLaunch().GetTokensCharged(), "the same answer")
	}
	for _, r := range all.GetResults() {
		require.Empty(t, r.GetError(), r.GetEventId())
	}
	bal, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	require.EqualValues(t, 3*(10+7), bal.GetBalance().GetUsed())
}
