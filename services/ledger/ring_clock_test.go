package ledger_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// The ring judges a peer's liveness on the configured clock, as every other
// decision of the ledger: an hour later on that clock, a peer not heard of
// since is gone, until its next announcement.
func TestRingReadsTheConfiguredClock(t *testing.T) {
	natsURL, _ := testkit.NATS(t)
	clk := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	withClock := func(cfg *ledger.Config) { cfg.Now = clk.Now }
	a := startReplica(t, natsURL, "clock-a", withClock)
	startReplica(t, natsURL, "clock-b", withClock)
	require.Eventually(t, func() bool { return a.svc.Replicas() == 2 }, 10*time.Second, 20*time.Millisecond, "a sees b")

	// An announcement may land between the two lines: then move on again.
	require.Eventually(t, func() bool {
		clk.Advance(time.Hour)
		return a.svc.Replicas() == 1
	}, 10*time.Second, 20*time.Millisecond, "an hour later on the ledger's clock, b was not heard of since")
	require.Eventually(t, func() bool { return a.svc.Replicas() == 2 }, 10*time.Second, 20*time.Millisecond,
		"b's next announcement brings it back")
}
