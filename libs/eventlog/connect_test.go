package eventlog

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// A reader waits, bounded, for the streams their owners provision; an owner
// provisions only its own.
func TestConnectProvisionsOwnAndWaitsForRead(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	log := slog.New(slog.DiscardHandler)
	_, _, err := Connect(t.Context(), testkit.Client(t, url, natsauth.Reporting), "reporting", log,
		Streams{Read: []string{LedgerStream}, Wait: 300 * time.Millisecond})
	require.ErrorContains(t, err, "stream LEDGER does not exist after 300ms")

	done := make(chan error, 1)
	go func() {
		nc, _, err := Connect(t.Context(), testkit.Client(t, url, natsauth.Reporting), "reporting", log,
			Streams{Read: []string{LedgerStream}, Wait: 10 * time.Second})
		if err == nil {
			nc.Close()
		}
		done <- err
	}()
	nc, js, err := Connect(t.Context(), testkit.Client(t, url, natsauth.Ledger), "ledger", log,
		Streams{Own: []string{LedgerStream}})
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, <-done, "the reader starts once the ledger provisioned LEDGER")
	ctx, cancel := context.WithTimeout(t.Context(), time.Second) // a refused request times out
	defer cancel()
	_, err = js.Stream(ctx, UsageStream)
	require.Error(t, err, "the ledger provisions only its own stream, and may not even look at USAGE")
}
