package grpcserver

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// behaving is a unary service whose handler does what its request's Service
// names, so one test can hold a call in process to a call over the network.
type behaving struct{ runs atomic.Int64 }

const behaveMethod = "/tokenmeter.test.Behave/Do"

var behaveDesc = grpc.ServiceDesc{
	ServiceName: "tokenmeter.test.Behave",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Do",
		Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
			in := &healthpb.HealthCheckRequest{}
			if err := dec(in); err != nil {
				return nil, err
			}
			return intercept(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: behaveMethod}, srv.(*behaving).do)
		},
	}},
}

func (b *behaving) do(ctx context.Context, req any) (any, error) {
	b.runs.Add(1)
	ok := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	switch req.(*healthpb.HealthCheckRequest).GetService() {
	case "deadline":
		return nil, context.DeadlineExceeded
	case "canceled":
		return nil, context.Canceled
	case "joined":
		return nil, errors.Join(errors.New("while asking the ledger"), context.DeadlineExceeded)
	case "plain":
		return nil, errors.New("boom")
	case "slow":
		time.Sleep(300 * time.Millisecond) // deaf to its context, on purpose
		return ok, nil
	case "headers":
		if m, _ := grpc.Method(ctx); m != behaveMethod {
			return nil, status.Errorf(codes.FailedPrecondition, "method %q", m)
		}
		if _, found := peer.FromContext(ctx); !found {
			return nil, status.Error(codes.FailedPrecondition, "no peer")
		}
		if err := grpc.SetHeader(ctx, metadata.Pairs("x-head", "h1")); err != nil {
			return nil, err
		}
		if err := grpc.SetTrailer(ctx, metadata.Pairs("x-trail", "t1")); err != nil {
			return nil, err
		}
	}
	return ok, nil
}

// A call in process answers what the same call over the network answers:
// a handler's context errors as their codes, the caller's deadline and
// cancellation, the handler's header and trailer, its peer and method.
func TestInProcessAnswersAsTheNetworkDoes(t *testing.T) {
	s := listenForService(t, "svc-secret:org-1:service:ingestion", behaveMethod)
	b := &behaving{}
	s.RegisterService(&behaveDesc, b)
	go func() { _ = s.Serve() }()
	network, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = network.Close() })
	doors := map[string]grpc.ClientConnInterface{"network": network, "in process": s.InProcess()}

	for _, c := range []struct {
		service string
		ctx     func() (context.Context, context.CancelFunc)
		want    codes.Code
		runs    int64 // handler runs per call
	}{
		{"deadline", background, codes.DeadlineExceeded, 1},
		{"canceled", background, codes.Canceled, 1},
		{"joined", background, codes.DeadlineExceeded, 1},
		{"plain", background, codes.Unknown, 1},
		{"slow", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, codes.DeadlineExceeded, 1},
		{"fine", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, codes.Canceled, 0},
		{"headers", background, codes.OK, 1},
	} {
		for name, conn := range doors {
			ctx, cancel := c.ctx()
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer svc-secret", auth.MetadataOrg, "org-1")
			before := b.runs.Load()
			var header, trailer metadata.MD
			err := conn.Invoke(ctx, behaveMethod, &healthpb.HealthCheckRequest{Service: c.service},
				&healthpb.HealthCheckResponse{}, grpc.Header(&header), grpc.Trailer(&trailer))
			cancel()
			if got := status.Code(err); got != c.want {
				t.Errorf("%s %s: %v, want %v", name, c.service, err, c.want)
			}
			if c.runs == 0 && b.runs.Load() != before {
				t.Errorf("%s %s: the handler ran for a caller already gone", name, c.service)
			}
			if c.service == "headers" {
				if got := header.Get("x-head"); len(got) != 1 || got[0] != "h1" {
					t.Errorf("%s: header %v", name, header)
				}
				if got := trailer.Get("x-trail"); len(got) != 1 || got[0] != "t1" {
					t.Errorf("%s: trailer %v", name, trailer)
				}
			}
		}
	}
}

func background() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
