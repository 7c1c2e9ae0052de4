package launch

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// Limiter holds one token bucket per api key: a key sending more than its
// rate is answered ResourceExhausted with the delay after which to retry.
type Limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

// NewLimiter allows each key perSecond calls with bursts of burst; a
// perSecond of zero or less turns limiting off.
func NewLimiter(perSecond float64, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, keys: map[string]*rate.Limiter{}}
}

func (l *Limiter) bucket(keyID string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys[keyID]
	if !ok {
		b = rate.NewLimiter(l.rate, l.burst)
		l.keys[keyID] = b
	}
	return b
}

// Admit takes one call from the caller's bucket, or says when to retry.
func (l *Limiter) Admit(ctx context.Context, now time.Time) error {
	if l == nil || l.rate <= 0 {
		return nil
	}
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil
	}
	r := l.bucket(p.KeyID).ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if r.OK() && delay == 0 {
		return nil
	}
	r.CancelAt(now)
	if delay <= 0 {
		delay = time.Second
	}
	st := status.Newf(codes.ResourceExhausted, "api key %s sends more than %g calls a second; retry in %s", p.KeyID, float64(l.rate), delay.Round(time.Millisecond))
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); err == nil {
		st = d
	}
	return st.Err()
}
