package launch

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
)

// Limiter bounds the launcher calls ingestion works on at once. A call takes
// a free slot, or waits for one at most the queue timeout among at most as
// many waiting calls as there are slots; any other call is refused at once
// with ResourceExhausted and a retry hint. Overload then costs neither
// memory nor the admitted calls' throughput. A nil Limiter admits every call.
type Limiter struct {
	slots   chan struct{}
	waiting atomic.Int64
	timeout time.Duration
	// busy is built once: a refusal allocates nothing.
	busy error
}

// NewLimiter admits inFlight calls at once (at least 1) and lets as many
// more wait up to timeout each (0: none waits).
func NewLimiter(inFlight int, timeout time.Duration) *Limiter {
	inFlight = max(1, inFlight)
	zeroCounters()
	busy := grpcserver.Retryable(codes.ResourceExhausted, retryDelay, "ingestion is at capacity; retry with the same event_id")
	return &Limiter{slots: make(chan struct{}, inFlight), timeout: timeout, busy: busy}
}

// retryDelay is the hint given with a refusal: long enough for the queue to
// drain, short enough that a launcher barely notices.
const retryDelay = 500 * time.Millisecond

// acquire takes a slot for a call, or says why not: the caller is gone, or
// ingestion is at capacity. Every nil answer must be paired with release.
func (l *Limiter) acquire(ctx context.Context) error {
	if l == nil {
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		inFlight.Add(ctx, 1)
		return nil // no wait: the coalescer checks the caller anyway
	default:
	}
	if l.timeout <= 0 {
		shed(ctx, queueFull)
		return l.busy
	}
	if l.waiting.Add(1) > int64(cap(l.slots)) {
		l.waiting.Add(-1)
		shed(ctx, queueFull)
		return l.busy
	}
	defer l.waiting.Add(-1)
	queued.Add(ctx, 1)
	defer queued.Add(ctx, -1)
	wait := time.NewTimer(l.timeout)
	defer wait.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.still(ctx)
	case <-wait.C:
		shed(ctx, queueTimeout)
		return l.busy
	case <-ctx.Done():
		shed(ctx, clientGone)
		return status.FromContextError(ctx.Err()).Err()
	}
}

// still keeps a slot taken after a wait only while the caller still waits
// for the answer: a launch whose client gave up is never sent to the ledger.
func (l *Limiter) still(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		<-l.slots
		shed(ctx, clientGone)
		return status.FromContextError(err).Err()
	}
	inFlight.Add(ctx, 1)
	return nil
}

// release frees the slot acquire took.
func (l *Limiter) release() {
	if l != nil {
		inFlight.Add(context.Background(), -1)
		<-l.slots
	}
}
