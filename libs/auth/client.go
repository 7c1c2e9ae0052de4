package auth

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc/metadata"
)

// Bearer is a per-RPC credential sending an api key. It allows plaintext
// transports for in-process and loopback calls: listeners beyond loopback
// need TLS (see config.CheckListen), and clients dial them with TLS.
type Bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (Bearer) RequireTransportSecurity() bool { return false }

// ActingFor returns ctx whose outgoing calls say they act for org; a service
// credential uses it to call another service on behalf of a caller.
func ActingFor(ctx context.Context, org string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, MetadataOrg, org)
}

// RotatingBearer is a Bearer whose key can be replaced while calls go on
// (a service key rotated without a restart).
type RotatingBearer struct{ key atomic.Pointer[string] }

// NewRotatingBearer returns a credential sending key until Set.
func NewRotatingBearer(key string) *RotatingBearer {
	b := &RotatingBearer{}
	b.Set(key)
	return b
}

// Set makes the next calls send key.
func (b *RotatingBearer) Set(key string) { b.key.Store(&key) }

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b *RotatingBearer) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return Bearer(*b.key.Load()).GetRequestMetadata(ctx, uri...)
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (*RotatingBearer) RequireTransportSecurity() bool { return false }
