package auth

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Throttle bounds what callers may ask of a server: each key's call rate
// (people's and launchers' keys; other tokenmeter services shed load their
// own way), and each peer's failed authentications, so guessing keys or a
// misconfigured client costs the server little.
type Throttle struct {
	keys, failures *buckets
	// lastBlocked is when a peer last used up its failures (unix ns): until
	// its bucket could have refilled, calls look their peer up; after, not.
	lastBlocked atomic.Int64
}

// Failed authentications a peer may make: a burst, then one a second.
const (
	FailureBurst = 20
	failureRate  = rate.Limit(1)
	refill       = time.Duration(FailureBurst) * time.Second
)

// maxBuckets bounds the memory of a throttle: past it the buckets start over.
const maxBuckets = 100_000

// NewThrottle allows each key perSecond calls with bursts of burst (a
// perSecond of zero or less: no per-key limit).
func NewThrottle(perSecond float64, burst int) *Throttle {
	t := &Throttle{failures: newBuckets(failureRate, FailureBurst)}
	if perSecond > 0 {
		t.keys = newBuckets(rate.Limit(perSecond), max(burst, 1))
	}
	return t
}

type buckets struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newBuckets(r rate.Limit, burst int) *buckets {
	return &buckets{rate: r, burst: burst, m: map[string]*rate.Limiter{}}
}

func (b *buckets) get(id string) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.m[id]
	if !ok {
		l = rate.NewLimiter(b.rate, b.burst)
		if len(b.m) >= maxBuckets {
			b.forgetIdle(time.Now())
		}
		if len(b.m) < maxBuckets {
			b.m[id] = l
		} // else every bucket is in use: this caller's is not kept
	}
	return l
}

// forgetIdle drops the buckets that have refilled: forgetting them changes
// nothing, while a caller still held back keeps its bucket. Called with b.mu held.
func (b *buckets) forgetIdle(now time.Time) {
	for id, l := range b.m {
		if l.TokensAt(now) >= float64(b.burst) {
			delete(b.m, id)
		}
	}
}

// admitKey takes one call from the key's bucket, or says when to retry.
func (t *Throttle) admitKey(p Principal, now time.Time) error {
	if t == nil || t.keys == nil || p.Role == RoleService {
		return nil
	}
	r := t.keys.get(p.KeyID).ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if r.OK() && delay == 0 {
		return nil
	}
	r.CancelAt(now)
	return exhausted(delay, "api key %s sends more than %g calls a second; retry in %s", p.KeyID, float64(t.keys.rate), delay.Round(time.Millisecond))
}

// peerBlocked refuses a peer that has used up its failed authentications.
func (t *Throttle) peerBlocked(ctx context.Context, now time.Time) error {
	if t == nil || now.UnixNano()-t.lastBlocked.Load() > int64(refill) {
		return nil
	}
	l := t.failures.get(peerOf(ctx))
	if l.TokensAt(now) >= 1 {
		return nil
	}
	delay := time.Duration(float64(time.Second) / float64(failureRate))
	return exhausted(delay, "too many calls with unknown keys from this address; retry in %s", delay)
}

// failed counts a failed authentication against the caller's peer.
func (t *Throttle) failed(ctx context.Context, now time.Time) {
	if t == nil {
		return
	}
	l := t.failures.get(peerOf(ctx))
	if !l.AllowN(now, 1) || l.TokensAt(now) < 1 {
		t.lastBlocked.Store(now.UnixNano())
	}
}

// peerOf is the caller's IP address: the network peer's, or for a call
// through an HTTP door in process the address the gateway appended last to
// x-forwarded-for (what a client sends itself comes before it).
func peerOf(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if p.Addr.Network() == "inprocess" {
		fwd := metadata.ValueFromIncomingContext(ctx, "x-forwarded-for")
		if len(fwd) == 0 {
			return "inprocess"
		}
		last := fwd[len(fwd)-1]
		return network(strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:]))
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	if err != nil {
		host = p.Addr.String()
	}
	return network(host)
}

// network is the address a peer is counted under: an IPv6 host is one of
// the 2^64 addresses of its /64, so the /64 is counted, not the address.
func network(host string) string {
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return host
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return host
	}
	return p.String()
}

func exhausted(delay time.Duration, format string, args ...any) error {
	if delay <= 0 {
		delay = time.Second
	}
	st := status.Newf(codes.ResourceExhausted, format, args...)
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); err == nil {
		st = d
	}
	return st.Err()
}
