package grpcserver

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// Calls beyond the stream workers still run (each on a goroutine of its
// own), and the server still stops gracefully.
func TestMoreCallsThanStreamWorkers(t *testing.T) {
	for _, workers := range []int{-1, 0, 2} {
		s, err := Listen(Options{Listen: "127.0.0.1:0", Auth: auth.Authorizer{Keys: auth.NewKeyring()}, StreamWorkers: workers})
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- s.Serve() }()
		conn, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		health := healthpb.NewHealthClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// Watch streams hold their handler until the server stops: more of
		// them than workers.
		for range 5 {
			w, err := health.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Recv(); err != nil {
				t.Fatalf("workers %d: watch: %v", workers, err)
			}
		}
		if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("workers %d: a call beyond the busy workers: %v", workers, err)
		}
		stopCtx, stop := context.WithTimeout(context.Background(), 100*time.Millisecond)
		s.Shutdown(stopCtx) // the watches never end by themselves: forced after the timeout
		stop()
		if err := <-served; err != nil {
			t.Fatalf("workers %d: serve: %v", workers, err)
		}
		cancel()
		_ = conn.Close()
	}
}
