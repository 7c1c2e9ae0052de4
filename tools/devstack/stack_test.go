package devstack_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// start runs the stack on natsURL and database db until the test (or stop) ends.
func start(t *testing.T, natsURL, db string, reset bool, log *testkit.Output) (stop func(), err error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	s, err := devstack.Start(ctx, devstack.Options{
		NATSURL: natsURL, NATSCreds: testkit.AllCreds(t, natsURL), ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		IngestionListen: "127.0.0.1:0", LedgerListen: "127.0.0.1:0", ReportingListen: "127.0.0.1:0", AlertingListen: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn})), ResetStaleProjections: reset,
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return func() {
		cancel()
		require.NoError(t, s.Wait())
	}, nil
}

// A new NATS store (make run after deleting .local/nats) beside a database of
// an older log: the dev stack starts the projections over and says so; without
// the reset it refuses as the reporting service does.
func TestStartOverProjectionsOfAnOlderLog(t *testing.T) {
	_, db := testkit.ClickHouse(t)
	first, _ := testkit.NATS(t)
	var log testkit.Output
	stop, err := start(t, first, db, true, &log)
	require.NoError(t, err)
	stop()
	require.NotContains(t, log.String(), "older event log")

	second, _ := testkit.NATS(t)
	_, err = start(t, second, db, false, &log)
	require.ErrorIs(t, err, reporting.ErrLogReset)

	stop, err = start(t, second, db, true, &log)
	require.NoError(t, err)
	stop()
	require.Contains(t, log.String(), "holds projections of an older event log; dropping it")

	// The database now belongs to the second log: a plain start accepts it.
	stop, err = start(t, second, db, false, &log)
	require.NoError(t, err)
	stop()
}
