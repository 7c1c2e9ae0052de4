package grpcserver

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

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

// serveWithLimits runs a server with lim and returns a health client to it.
func serveWithLimits(t *testing.T, lim Limits) healthpb.HealthClient {
	t.Helper()
	s, err := Listen(Options{Listen: "127.0.0.1:0", Auth: auth.Authorizer{Keys: auth.NewKeyring()}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { s.ShutdownWithin(100 * time.Millisecond) })
	conn, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// One connection holds at most MaxConcurrentStreams calls: a further call
// waits for a free stream instead of adding to the server's load.
func TestConnectionStreamsAreBounded(t *testing.T) {
	health := serveWithLimits(t, Limits{MaxConcurrentStreams: 2})
	for range 2 {
		w, err := health.Watch(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("a third call on a connection limited to 2 streams: got %v, want DeadlineExceeded", err)
	}
}

// A connection lives at most MaxConnectionAge (+ grace): even a stream that
// never ends is cut, and the client may reconnect (WatchAlerts resumes).
func TestConnectionsAgeOut(t *testing.T) {
	health := serveWithLimits(t, Limits{MaxConnectionAge: 100 * time.Millisecond, MaxConnectionAgeGrace: 100 * time.Millisecond})
	w, err := health.Watch(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := w.Recv(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the stream answered again instead of ending")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a stream outlived its connection's maximum age")
	}
	if _, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("a new call after the old connection aged out: %v", err)
	}
}
