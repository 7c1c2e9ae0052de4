package ring

import (
	"context"
	"crypto/tls"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/ring"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// MetadataForwarded marks a call one replica forwarded to another, so the
// owner decides it itself instead of forwarding again.
const MetadataForwarded = "x-tokenmeter-forwarded-by"

// Forwarder reaches the replica that owns a pool.
type Forwarder struct {
	// tls dials the other replicas (nil: plaintext).
	tls  *tls.Config
	ring *Ring
	key  credentials.PerRPCCredentials

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn

	forwarded atomic.Int64
}

// NewForwarder forwards with key, a service credential the other replicas accept.
func NewForwarder(r *Ring, key credentials.PerRPCCredentials, tlsConf *tls.Config) *Forwarder {
	return &Forwarder{ring: r, key: key, tls: tlsConf, conns: map[string]*grpc.ClientConn{}}
}

// Target returns a client of the pool's owner and the context to call it
// with, when another replica owns the pool and the call was not forwarded
// already.
func (f *Forwarder) Target(ctx context.Context, org, team string) (v1.LedgerServiceClient, context.Context, bool) {
	if f == nil {
		return nil, nil, false
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get(MetadataForwarded)) > 0 {
		return nil, nil, false
	}
	owner, self := f.ring.Owner(ring.PoolKey(org, team))
	if self || owner.Addr == "" {
		return nil, nil, false
	}
	conn, err := f.conn(owner.Addr)
	if err != nil {
		return nil, nil, false
	}
	f.forwarded.Add(1)
	out := metadata.AppendToOutgoingContext(auth.ActingFor(ctx, org), MetadataForwarded, f.ring.Self())
	return v1.NewLedgerServiceClient(conn), out, true
}

func (f *Forwarder) conn(addr string) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.conns[addr]; ok {
		return c, nil
	}
	c, err := grpcserver.DialKey(addr, f.key, f.tls)
	if err != nil {
		return nil, err
	}
	f.conns[addr] = c
	return c, nil
}

// Close closes the connections to the other replicas.
func (f *Forwarder) Close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
}

// Live is the number of live replicas, this one included.
func (f *Forwarder) Live() int { return len(f.ring.Live()) }

// Forwarded counts the calls sent to another replica.
func (f *Forwarder) Forwarded() int64 {
	if f == nil {
		return 0
	}
	return f.forwarded.Load()
}

// Owns reports whether this replica owns the pool (always, without a ring).
func (f *Forwarder) Owns(org, team string) bool {
	if f == nil {
		return true
	}
	_, self := f.ring.Owner(ring.PoolKey(org, team))
	return self
}

// First reports whether this replica is the ring's first live one (lowest
// id), the one that does the ring-wide chores (always, without a ring).
func (f *Forwarder) First() bool {
	if f == nil {
		return true
	}
	live := f.ring.Live()
	return len(live) == 0 || live[0].ID == f.ring.Self()
}
