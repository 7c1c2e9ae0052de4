package ingestion_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// metricsAddr serves this test process's metrics as -metrics-listen does; set
// up once, as the instruments bind to the first provider installed.
var metricsAddr = sync.OnceValue(func() string {
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "ingestion-test", MetricsListen: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	return tel.MetricsAddr()
})

// Launches are counted by outcome; with one slot and a ledger that holds
// its answer, the call in flight and the one waiting show, and each call
// the limiter refuses is counted by why.
func TestIngestionMetrics(t *testing.T) {
	addr := metricsAddr()
	e := start(t, "", func(c *ingestion.Config) { c.MaxInFlight, c.QueueTimeout = 1, 300*time.Millisecond })
	d := doors(t, e)["grpc"]
	launch := func(ctx context.Context, name, user string) error {
		req := &v1.LaunchRequest{EventId: id("metrics", name), TeamId: "design", UserId: user, ProductCode: "REVIT"}
		return d.call(ctx, designKey, "Launch", req, &v1.LaunchResponse{})
	}
	before := testkit.Scrape(t, addr)
	moved := func(name string, labels ...string) float64 {
		return testkit.Scrape(t, addr).Value(name, labels...) - before.Value(name, labels...)
	}
	require.NoError(t, launch(t.Context(), "ok", "ann"))
	require.NoError(t, launch(t.Context(), "ok", "ann"), "a retry")
	require.NoError(t, launch(t.Context(), "refused", "nobody"))
	e.ledger.down.Store(true)
	require.Equal(t, codes.Unavailable, status.Code(launch(t.Context(), "down", "ann")))
	e.ledger.down.Store(false)

	hold := make(chan struct{})
	e.ledger.hold.Store(&hold)
	held := make(chan error, 1)
	go func() { held <- launch(t.Context(), "held", "ann") }()
	require.Eventually(t, func() bool { return moved("tokenmeter_ingestion_in_flight") == 1 }, 5*time.Second, 10*time.Millisecond)
	waitCtx, leave := context.WithCancel(t.Context())
	waited := make(chan error, 1)
	go func() { waited <- launch(waitCtx, "waiting", "ann") }()
	require.Eventually(t, func() bool { return moved("tokenmeter_ingestion_queued") == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, codes.ResourceExhausted, status.Code(launch(t.Context(), "full", "ann")), "one running, one waiting")
	leave()
	require.Equal(t, codes.Canceled, status.Code(<-waited))
	shed := func(reason string) float64 { return moved("tokenmeter_ingestion_shed_total", "reason", reason) }
	require.Eventually(t, func() bool { return shed("client_gone") == 1 && moved("tokenmeter_ingestion_queued") == 0 },
		5*time.Second, 10*time.Millisecond, "the server sees the caller leave shortly after it left")
	require.Equal(t, codes.ResourceExhausted, status.Code(launch(t.Context(), "late", "ann")), "no slot within the queue timeout")
	e.ledger.hold.Store(nil)
	close(hold)
	require.NoError(t, <-held)

	require.Equal(t, 1.0, shed("queue_full"))
	require.Equal(t, 1.0, shed("queue_timeout"))
	require.Zero(t, moved("tokenmeter_ingestion_in_flight"))
	require.Zero(t, moved("tokenmeter_ingestion_queued"))
	launched := func(outcome string) float64 { return moved("tokenmeter_ingestion_launches_total", "outcome", outcome) }
	require.Equal(t, 2.0, launched("authorized"), "ok and held")
	require.Equal(t, 1.0, launched("duplicate"))
	require.Equal(t, 1.0, launched("refused"))
	require.Equal(t, 1.0, launched("error"))
}
