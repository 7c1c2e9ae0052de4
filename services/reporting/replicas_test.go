package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Two replicas on one log and one database: each stream is projected by one
// of them at a time, so every charge is in ClickHouse once; both answer
// reports; when the projecting one stops, the other takes over.
func TestReplicasShareTheProjection(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	cfg := serviceConfig(t, natsURL)
	cfg.ProjectionLease = time.Second
	a, stopA := runService(t, cfg)
	require.Eventually(t, func() bool { return a.Projecting() == 2 }, 10*time.Second, 10*time.Millisecond,
		"the first replica takes both streams")
	b, _ := runService(t, cfg)

	js := logAs(t, natsURL, "ledger")
	at := time.Now().UTC().Add(-time.Hour)
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			ev := charge("acme", "design", fmt.Sprintf("e%d", i), "REVIT", 10, at)
			_, err := eventlog.Append(t.Context(), js, eventlog.LedgerSubject("acme", "design"), ev, nil)
			require.NoError(t, err)
		}
	}
	total := func(svc interface{ Addr() string }) int64 {
		r, err := client(t, svc.Addr(), acmeKey).GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{TeamIds: []string{"design"}})
		require.NoError(t, err)
		return r.GetTotalTokens()
	}
	publish(0, 20)
	require.Eventually(t, func() bool { return total(a) == 200 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, int64(200), total(b), "both replicas answer from the shared tables")
	require.Zero(t, b.Projecting(), "the second replica waits while the first holds the streams")

	stopA()
	publish(20, 30)
	require.Eventually(t, func() bool { return total(b) == 300 }, 5*cfg.ProjectionLease, 10*time.Millisecond,
		"the second replica takes over the stopped one's streams")
	require.Equal(t, 2, b.Projecting())
	for range 5 { // a second projection would add its copies within a flush or two
		time.Sleep(100 * time.Millisecond)
		require.Equal(t, int64(300), total(b), "every charge once")
	}
}
