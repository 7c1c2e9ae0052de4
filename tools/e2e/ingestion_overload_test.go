package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// limitedIngestion runs a ledger and an ingestion replica whose config edit
// changes (e.g. its in-flight limit) and whose log goes to log.
func limitedIngestion(t *testing.T, log *slog.Logger, edit func(*ingestion.Config)) (*ledgerHandle, *ingestion.Service) {
	t.Helper()
	natsURL, _ := testkit.NATS(t)
	led := &ledgerHandle{t: t, nats: natsURL, addr: loopbackAddr(t), now: time.Now}
	led.start()
	t.Cleanup(led.stop)
	var cfg ingestion.Config
	flagDefaults(cfg.Register)
	cfg.NATSURL, cfg.APIKeys, cfg.Listen, cfg.HTTPListen = natsURL, devstack.APIKeys(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.LedgerAddr, cfg.LedgerAPIKey, cfg.RateLimit = led.addr, devstack.ServiceKey, 0
	cfg.NATSCreds = testkit.Creds(t, natsURL, "ingestion")
	edit(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := ingestion.New(ctx, cfg, log)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return led, svc
}

// Far more concurrent launches than ingestion's limit: the excess is
// refused promptly with ResourceExhausted and a retry hint, and every
// admitted launch is authorized.
func TestOverloadIsRefusedPromptly(t *testing.T) {
	const n, queueTimeout = 400, 20 * time.Millisecond
	led, ing := limitedIngestion(t, slog.New(slog.DiscardHandler), func(c *ingestion.Config) {
		c.MaxInFlight, c.QueueTimeout = 4, queueTimeout
	})
	setUpDesign(t, led.addr, 100, "ann")
	client := v1.NewIngestionServiceClient(dial(t, ing.Addr(), devstack.LauncherKey))

	var admitted, refused atomic.Int32
	var slowest atomic.Int64 // of the refusals
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			resp, err := client.Launch(t.Context(), &v1.LaunchRequest{
				EventId: fmt.Sprintf("overload-%04d", i), TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
			took := time.Since(start)
			if err == nil {
				require.Equal(t, v1.Decision_DECISION_AUTHORIZED, resp.GetDecision())
				admitted.Add(1)
				return
			}
			require.Equal(t, codes.ResourceExhausted, status.Code(err), "launch %d: %v", i, err)
			require.Positive(t, retryInfo(err), "launch %d: a refusal says when to retry", i)
			refused.Add(1)
			for cur := slowest.Load(); int64(took) > cur && !slowest.CompareAndSwap(cur, int64(took)); cur = slowest.Load() {
			}
		})
	}
	wg.Wait()
	t.Logf("%d admitted, %d refused, slowest refusal %s", admitted.Load(), refused.Load(), time.Duration(slowest.Load()))
	require.Positive(t, admitted.Load())
	require.Positive(t, refused.Load(), "the excess is refused")
	require.Less(t, time.Duration(slowest.Load()), queueTimeout+time.Second, "refusals are prompt")
}

// The HTTP door shares the limit: its excess is 429 with Retry-After.
func TestOverloadOverHTTPIs429(t *testing.T) {
	const n = 200
	led, ing := limitedIngestion(t, slog.New(slog.DiscardHandler), func(c *ingestion.Config) {
		c.MaxInFlight, c.QueueTimeout = 2, 10*time.Millisecond
	})
	setUpDesign(t, led.addr, 100, "ann")
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"event_id":"http-overload-%04d","team_id":"design","user_id":"ann","product_code":"REVIT"}`, i)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
				"http://"+ing.HTTPAddr()+"/tokenmeter.v1.IngestionService/Launch", strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+devstack.LauncherKey)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			switch res.StatusCode {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				require.NotEmpty(t, res.Header.Get("Retry-After"), "launch %d", i)
				refused.Add(1)
			default:
				t.Errorf("launch %d: http %d", i, res.StatusCode)
			}
		})
	}
	wg.Wait()
	t.Logf("%d admitted, %d refused", ok.Load(), refused.Load())
	require.Positive(t, ok.Load())
	require.Positive(t, refused.Load())
}

// A launch whose client gave up while it waited for a slot is never sent to
// the ledger: the ledger charges it nothing.
func TestAbandonedLaunchIsNotCharged(t *testing.T) {
	led, ing := limitedIngestion(t, slog.New(slog.DiscardHandler), func(c *ingestion.Config) {
		c.MaxInFlight, c.QueueTimeout = 1, 30*time.Second
	})
	admin := setUpDesign(t, led.addr, 100, "ann", "bob")
	client := v1.NewIngestionServiceClient(dial(t, ing.Addr(), devstack.LauncherKey))
	available := func() int64 {
		bal, err := admin.GetBalance(t.Context(), &v1.GetBalanceRequest{TeamId: "design"})
		require.NoError(t, err)
		return bal.GetBalance().GetAvailable()
	}

	// An offline batch takes the only slot: ann's launches, charged once.
	batch := &v1.IngestBatchRequest{}
	for i := range 1000 {
		batch.Events = append(batch.Events, &v1.OfflineEvent{Event: &v1.OfflineEvent_Launch{Launch: &v1.LaunchRequest{
			EventId: fmt.Sprintf("batch-%04d", i), TeamId: "design", UserId: "ann", ProductCode: "REVIT"}}})
	}
	batchDone := make(chan error, 1)
	go func() {
		_, err := client.IngestBatch(t.Context(), batch)
		batchDone <- err
	}()
	require.Eventually(t, func() bool { return available() == 90 }, 10*time.Second, time.Millisecond, "the batch is under way")

	// Bob's launcher gives up while the batch holds the slot.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := client.Launch(ctx, &v1.LaunchRequest{EventId: "abandoned-0001", TeamId: "design", UserId: "bob", ProductCode: "REVIT"})
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "bob's launch waited: %v", err)
	require.NoError(t, <-batchDone, "the batch finished after bob's launcher gave up")

	// Every later launch is decided after the slot came free; bob's never was.
	_, err = client.Launch(t.Context(), &v1.LaunchRequest{EventId: "after-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT"})
	require.NoError(t, err)
	require.EqualValues(t, 90, available(), "bob was not charged")
}

func retryInfo(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
