package eventlog

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// metricsAddr serves this test process's metrics, as a service's -metrics-listen
// does; set up once, as the instruments bind to the first provider installed.
var metricsAddr = sync.OnceValue(func() string {
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "eventlog-test", MetricsListen: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	return tel.MetricsAddr()
})

// Appends are timed per stream, and failed ones counted by kind: a
// conflicting expected sequence, the server gone.
func TestAppendMetrics(t *testing.T) {
	addr := metricsAddr()
	url, srv := testkit.NATS(t)
	nc, js, err := Connect(t.Context(), testkit.Client(t, url, natsauth.Ledger), "ledger", slog.New(slog.DiscardHandler),
		Streams{Own: []string{LedgerStream}})
	require.NoError(t, err)
	defer nc.Close()
	before := testkit.Scrape(t, addr)
	count := func(m testkit.Metrics) float64 {
		return m.Value("tokenmeter_eventlog_append_duration_seconds_count", "stream", LedgerStream)
	}
	failed := func(m testkit.Metrics, kind string) float64 {
		return m.Value("tokenmeter_eventlog_append_errors_total", "stream", LedgerStream, "kind", kind)
	}

	zero := uint64(0)
	subject := LedgerSubject("acme", "design")
	_, err = Append(t.Context(), js, subject, charged("metrics-1"), &zero)
	require.NoError(t, err)
	_, err = Append(t.Context(), js, subject, charged("metrics-2"), &zero)
	require.ErrorIs(t, err, ErrConflict)
	after := testkit.Scrape(t, addr)
	require.Equal(t, 2.0, count(after)-count(before), "both appends timed")
	require.Positive(t, after.Value("tokenmeter_eventlog_append_duration_seconds_sum", "stream", LedgerStream)-
		before.Value("tokenmeter_eventlog_append_duration_seconds_sum", "stream", LedgerStream))
	require.Equal(t, 1.0, failed(after, "conflict")-failed(before, "conflict"))
	require.Zero(t, failed(after, "unavailable")-failed(before, "unavailable"))

	testkit.StopNATS(t, srv)
	require.Eventually(t, func() bool { return !nc.IsConnected() }, 5*time.Second, 10*time.Millisecond)
	_, err = Append(t.Context(), js, subject, charged("metrics-3"), nil)
	require.Error(t, err)
	down := testkit.Scrape(t, addr)
	require.Equal(t, 1.0, failed(down, "unavailable")-failed(after, "unavailable"), "an append while NATS is away: %v", err)
	require.Zero(t, failed(down, "other")-failed(after, "other"))
}

// The connection gauge follows the connection: 0 while the server is away,
// 1 again once reconnected, and each reconnection is counted.
func TestNATSConnectionMetrics(t *testing.T) {
	addr := metricsAddr()
	url, srv := testkit.NATS(t)
	nc, _, err := Connect(t.Context(), testkit.Client(t, url, natsauth.Ledger), "ledger", slog.New(slog.DiscardHandler),
		Streams{Own: []string{LedgerStream}})
	require.NoError(t, err)
	connected := func() float64 { return testkit.Scrape(t, addr).Value("tokenmeter_nats_connected") }
	reconnects := func() float64 { return testkit.Scrape(t, addr).Value("tokenmeter_nats_reconnects_total") }
	require.Eventually(t, func() bool { return connected() == 1 }, 5*time.Second, 20*time.Millisecond)
	before := reconnects()

	start := testkit.StopNATS(t, srv)
	require.Eventually(t, func() bool { return connected() == 0 }, 5*time.Second, 20*time.Millisecond, "NATS is down")
	start()
	require.Eventually(t, func() bool { return connected() == 1 }, 10*time.Second, 20*time.Millisecond, "NATS is back")
	require.Eventually(t, func() bool { return reconnects()-before == 1 }, 5*time.Second, 20*time.Millisecond)

	nc.Close()
	require.Eventually(t, func() bool { return connected() == 0 }, 5*time.Second, 20*time.Millisecond,
		"a process whose connection is closed is not connected")
}
