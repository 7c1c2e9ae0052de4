package auth

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// MetadataOrg names the organisation a service credential acts for.
const MetadataOrg = "x-tokenmeter-org"

// AnyOrg in a service key's organisation field lets it act for any organisation.
const AnyOrg = "*"

// Policy says which roles may call each full method name
// ("/tokenmeter.v1.LedgerService/Authorize"); ServiceOf(name) admits that
// service's key alone. Unlisted methods are refused, except the public ones
// (health checking and reflection).
type Policy map[string][]Role

func (pol Policy) allows(method string, p Principal) bool {
	for _, allowed := range pol[method] {
		if p.grantedBy(allowed) {
			return true
		}
	}
	return false
}

func isPublic(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

// Authorizer authenticates a call's bearer token and checks it against a policy.
type Authorizer struct {
	Keys   *Keyring
	Policy Policy
	// Throttle limits each key's calls and each peer's failed
	// authentications (nil: no limits).
	Throttle *Throttle
	// ServiceCertRequired accepts a service key only over mutual TLS, from a
	// client whose certificate verified: a stolen service key alone is not enough.
	ServiceCertRequired bool
}

func (a Authorizer) authorize(ctx context.Context, method string) (context.Context, error) {
	if isPublic(method) {
		return ctx, nil
	}
	// Two values, not metadata.FromIncomingContext: that copies every
	// header of the call, a dozen allocations each time.
	now := time.Now()
	if err := a.Throttle.peerBlocked(ctx, now); err != nil {
		return nil, err
	}
	token := bearer(metadata.ValueFromIncomingContext(ctx, "authorization"))
	if token == "" {
		return nil, status.Error(codes.Unauthenticated, "no credential: send 'authorization: Bearer <api key>'")
	}
	p, err := a.Keys.Authenticate(token)
	if err != nil {
		a.Throttle.failed(ctx, now)
		return nil, status.Error(codes.Unauthenticated, "unknown or revoked api key")
	}
	if !a.Policy.allows(method, p) {
		return nil, status.Errorf(codes.PermissionDenied, "%s may not call %s", p.describe(), method)
	}
	if p.Role == RoleService && a.ServiceCertRequired && !verifiedPeer(ctx) {
		return nil, status.Error(codes.PermissionDenied, "a service key is accepted only with a client certificate signed by the server's -tls-client-ca")
	}
	if p.Role == RoleService {
		acting := first(metadata.ValueFromIncomingContext(ctx, MetadataOrg))
		if acting == "" {
			return nil, status.Errorf(codes.InvalidArgument, "a service call must name its organisation in %s", MetadataOrg)
		}
		if p.Org != AnyOrg && p.Org != acting {
			return nil, status.Errorf(codes.PermissionDenied, "this service key may not act for organisation %s", quote.Prefix(acting))
		}
		p.Org = acting
	}
	if err := a.Throttle.admitKey(p, now); err != nil {
		return nil, err
	}
	return WithPrincipal(ctx, p), nil
}

// Unary is the unary server interceptor.
func (a Authorizer) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		// A team admin's call must be about its team alone (see TeamFields).
		if p, _ := FromContext(ctx); p.Role == RoleTeamAdmin {
			if err := checkTeamScope(req, p.Team); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// Stream is the stream server interceptor.
func (a Authorizer) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if p, _ := FromContext(ctx); p.Role == RoleTeamAdmin {
			// Its request is read after this: a team admin streams nothing.
			return status.Error(codes.PermissionDenied, "a team admin may not open streams")
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

func verifiedPeer(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	return ok && certs.Verified(&info.State)
}

func bearer(authorization []string) string {
	v := first(authorization)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
