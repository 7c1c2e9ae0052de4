package grpcserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

const failingMethod = "/tokenmeter.test.Failing/Check"

// failingDesc is a unary service whose handler fails with an unexpected error.
var failingDesc = grpc.ServiceDesc{
	ServiceName: "tokenmeter.test.Failing",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Check",
		Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
			in := &healthpb.HealthCheckRequest{}
			if err := dec(in); err != nil {
				return nil, err
			}
			return intercept(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: failingMethod}, func(context.Context, any) (any, error) {
				return nil, Internal(errors.New("fold refused ledger event 42"))
			})
		},
	}},
}

// An unexpected error answers Internal without its text, which the server
// logs with the method (the interceptors are the network's, see
// TestInProcessCallsRunTheServersInterceptors).
func TestInternalIsLoggedNotTold(t *testing.T) {
	ring, err := auth.ParseKeyring("svc-secret:org-1:service:ingestion")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := Listen(Options{Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Auth: auth.Authorizer{Keys: ring, Policy: auth.Policy{failingMethod: {auth.RoleService}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.RegisterService(&failingDesc, struct{}{})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer svc-secret", auth.MetadataOrg, "org-1")
	err = s.InProcess().Invoke(ctx, failingMethod, &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
	if st := status.Convert(err); st.Code() != codes.Internal || strings.Contains(st.Message(), "42") {
		t.Fatalf("answer %v: want Internal without the cause", err)
	}
	if got := logs.String(); !strings.Contains(got, "fold refused ledger event 42") || !strings.Contains(got, failingMethod) {
		t.Fatalf("the log does not hold the cause and method: %q", got)
	}
}
