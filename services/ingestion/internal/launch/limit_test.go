package launch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// At most inFlight calls run and as many wait; any more is refused at once,
// and a waiter whose caller leaves gives its place up without a slot.
func TestLimiterBoundsRunningAndWaiting(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1, time.Minute)
	require.NoError(t, l.acquire(t.Context()))

	waiterCtx, leave := context.WithCancel(t.Context())
	waited := make(chan error, 1)
	go func() { waited <- l.acquire(waiterCtx) }()
	require.Eventually(t, func() bool { return l.waiting.Load() == 1 }, time.Second, time.Millisecond)

	start := time.Now()
	err := l.acquire(t.Context())
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "the queue is full")
	require.Less(t, time.Since(start), 100*time.Millisecond, "refused at once")

	leave()
	require.Equal(t, codes.Canceled, status.Code(<-waited))
	l.release()
	require.NoError(t, l.acquire(t.Context()), "the slot is free again")
	l.release()
}

// A waiter is refused when its wait runs out.
func TestLimiterQueueTimeout(t *testing.T) {
	t.Parallel()
	l := NewLimiter(1, 20*time.Millisecond)
	require.NoError(t, l.acquire(t.Context()))
	require.Equal(t, codes.ResourceExhausted, status.Code(l.acquire(t.Context())))
	var nilLimiter *Limiter
	require.NoError(t, nilLimiter.acquire(t.Context()), "no limiter: every call runs")
	nilLimiter.release()
}
