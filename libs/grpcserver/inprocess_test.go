package grpcserver

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// probe is a unary service whose handler reports what it was given.
type probe struct {
	incoming, outgoing metadata.MD
	principal          auth.Principal
}

const probeMethod = "/tokenmeter.test.Probe/Check"

var probeDesc = grpc.ServiceDesc{
	ServiceName: "tokenmeter.test.Probe",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Check",
		Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
			in := &healthpb.HealthCheckRequest{}
			if err := dec(in); err != nil {
				return nil, err
			}
			handle := func(ctx context.Context, req any) (any, error) {
				p := srv.(*probe)
				p.incoming, _ = metadata.FromIncomingContext(ctx)
				p.outgoing, _ = metadata.FromOutgoingContext(ctx)
				p.principal, _ = auth.FromContext(ctx)
				if r := req.(*healthpb.HealthCheckRequest); r.Service == "panic" {
					panic("probe asked to panic")
				}
				req.(*healthpb.HealthCheckRequest).Service = "changed by the handler"
				return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
			}
			return intercept(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: probeMethod}, handle)
		},
	}},
}

// A call through InProcess runs the server's interceptors (authentication,
// policy, panic recovery), sees the caller's outgoing metadata as incoming and
// carries none out, and works on a copy of the request.
func TestInProcessCallsRunTheServersInterceptors(t *testing.T) {
	s := listenForService(t, "svc-secret:org-1:service:ingestion,admin-secret:org-1:admin", probeMethod)
	p := &probe{}
	s.RegisterService(&probeDesc, p)
	conn := s.InProcess()
	call := func(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		res := &healthpb.HealthCheckResponse{}
		return res, conn.Invoke(ctx, probeMethod, req, res)
	}
	as := func(key string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key, auth.MetadataOrg, "org-1")
	}

	req := &healthpb.HealthCheckRequest{Service: "mine"}
	res, err := call(as("svc-secret"), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("answer %v, want SERVING", res)
	}
	if req.GetService() != "mine" {
		t.Fatalf("the handler changed the caller's request: %q", req.GetService())
	}
	if got := p.incoming.Get("authorization"); len(got) != 1 || got[0] != "Bearer svc-secret" {
		t.Fatalf("incoming authorization %q", got)
	}
	if len(p.outgoing) != 0 {
		t.Fatalf("the handler's calls would carry the caller's metadata: %v", p.outgoing)
	}
	if p.principal.Role != auth.RoleService || p.principal.Org != "org-1" {
		t.Fatalf("principal %+v", p.principal)
	}

	for _, c := range []struct {
		name string
		ctx  context.Context
		want codes.Code
	}{
		{"no key", context.Background(), codes.Unauthenticated},
		{"unknown key", as("nobody"), codes.Unauthenticated},
		{"role not in the policy", as("admin-secret"), codes.PermissionDenied},
	} {
		if _, err := call(c.ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := call(as("svc-secret"), &healthpb.HealthCheckRequest{Service: "panic"}); status.Code(err) != codes.Internal {
		t.Errorf("a panicking handler: %v, want Internal", err)
	}
	if err := conn.Invoke(as("svc-secret"), "/tokenmeter.test.Probe/Missing", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("an unknown method: %v, want Unimplemented", err)
	}
}

// listenForService starts a server (not yet serving) whose keyring is keys
// and whose policy lets the service role, and only it, call method.
func listenForService(t *testing.T, keys, method string) *Server {
	t.Helper()
	ring, err := auth.ParseKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(Options{Listen: "127.0.0.1:0", Auth: auth.Authorizer{Keys: ring, Policy: auth.Policy{method: {auth.RoleService}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}
