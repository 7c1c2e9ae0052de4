package reporting_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// ClickHouse cut off from reporting and given back, twice: one line when
// it goes and one when it is back, each time, however often it was pinged.
func TestClickHouseLossAndRecoveryAreLoggedOnce(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	_, database := testkit.ClickHouse(t)
	provisionLog(t, natsURL)
	proxy := testkit.NewProxy(t, testkit.ClickHouseAddr())
	cfg := reporting.Config{
		Common: config.Common{Listen: "127.0.0.1:0", NATSURL: natsURL, NATSCreds: testkit.Creds(t, natsURL, "reporting"),
			APIKeys: acmeKey + ":acme:admin", LogLevel: "info"},
		ClickHouseAddr: proxy.Addr(), ClickHouseDatabase: database, ClickHouseUser: "default",
		FlushRows: 100, FlushInterval: 10 * time.Millisecond,
		ClickHousePing: 20 * time.Millisecond, UserHashKey: testkit.UserHashKey,
	}
	require.NoError(t, cfg.Validate())
	logs := &testkit.Output{}
	svc, err := reporting.New(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "Run returns nil on a clean stop, outages or not")
	})

	const lost, back = "clickhouse unreachable", "clickhouse reachable again"
	for round := 1; round <= 2; round++ {
		proxy.Cut()
		require.Eventually(t, func() bool { return logs.Count(`msg="`+lost+`"`) == round }, 10*time.Second, 10*time.Millisecond,
			"round %d: the loss is logged", round)
		proxy.Restore()
		require.Eventually(t, func() bool { return logs.Count(`msg="`+back+`"`) == round }, 10*time.Second, 10*time.Millisecond,
			"round %d: the recovery is logged", round)
		require.Equal(t, round, logs.Count(`msg="`+lost+`"`), "round %d: one line for the loss, however often it was pinged", round)
	}
	// A projector that stopped meanwhile (it retries every second) says
	// so once per outage, and once that it resumed.
	const stopped, resumed = "projector stopped; restarting from ClickHouse's last sequences until it can", "projector resumed"
	require.Eventually(t, func() bool { return logs.Count(`msg="`+resumed+`"`) == logs.Count(`msg="`+stopped+`"`) }, 10*time.Second, 10*time.Millisecond)
	require.LessOrEqual(t, logs.Count(`msg="`+stopped+`"`), 2*2, "at most once per stream and outage")
}
