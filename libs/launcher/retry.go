package launcher

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Retry says how calls are retried. Every retry resends the same event id,
// so the service answers a retried event once and the same way.
type Retry struct {
	// Attempts per call, the first included (default 6).
	Attempts int
	// BaseDelay is the first backoff ceiling, doubled each attempt up to
	// MaxDelay (defaults 100ms and 3s); each wait is drawn uniformly below
	// the ceiling ("full jitter"), or the server's RetryInfo when longer.
	BaseDelay, MaxDelay time.Duration
	// Timeout bounds each attempt (default 5s).
	Timeout time.Duration
	// QueueAfter is how many attempts a heartbeat or session end gets
	// before it goes to the offline queue (default 2).
	QueueAfter int
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 6
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 100 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 3 * time.Second
	}
	if r.Timeout <= 0 {
		r.Timeout = 5 * time.Second
	}
	if r.QueueAfter <= 0 {
		r.QueueAfter = 2
	}
	return r
}

// Retryable reports whether err may succeed later with the same event id.
func Retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

func call[T any](ctx context.Context, r Retry, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	ceiling := r.BaseDelay
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.Timeout)
		resp, err := fn(actx)
		cancel()
		if err == nil || !Retryable(err) || attempt >= r.Attempts || ctx.Err() != nil {
			return resp, err
		}
		wait := time.Duration(rand.Int64N(int64(ceiling) + 1))
		if hint := retryHint(err); hint > wait {
			wait = hint
		}
		ceiling = min(2*ceiling, r.MaxDelay)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return zero, err
		case <-t.C:
		}
	}
}

func retryHint(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
