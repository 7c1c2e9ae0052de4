// Package grpcserver builds tokenmeter's gRPC servers and clients the same way
// everywhere: OpenTelemetry, authentication, health checking, reflection, and a
// graceful stop.
package grpcserver

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// Server is a listening gRPC server.
type Server struct {
	*grpc.Server
	inproc   *inProcess
	health   *health.Server
	listener net.Listener
	log      *slog.Logger
}

// Options configure a server.
type Options struct {
	// Listen is a host:port; ":0" picks a free port (see Addr).
	Listen string
	Auth   auth.Authorizer
	Log    *slog.Logger
	// StreamWorkers is how many long-lived goroutines run calls (0:
	// DefaultStreamWorkers; negative: a new goroutine for each call, as gRPC
	// does by default). A call arriving while every worker is busy still
	// gets a goroutine of its own, so this bounds nothing. It spares each
	// call growing a fresh 2 KB goroutine stack, copied at every doubling,
	// through gRPC, OpenTelemetry and the handler (README, Performance).
	StreamWorkers int
	// Limits bound what one client may hold (zero values: DefaultLimits).
	Limits Limits
	// TLS serves TLS (nil: plaintext). With ClientCAs set, a service key is
	// accepted only from a client whose certificate verified (mutual TLS).
	TLS *tls.Config
}

// Limits bound a server's connections: calls in flight on one connection,
// how often a client may ping, and how long a connection lives, so one
// client cannot hold a server's resources for ever or flood it with streams.
type Limits struct {
	// MaxConcurrentStreams is the calls one connection may have in flight;
	// more wait for a free stream on the client's side.
	MaxConcurrentStreams uint32
	// MaxConnectionIdle closes a connection without calls for this long.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge sends a connection GOAWAY after this long (clients
	// reconnect, also to new replicas); its calls get MaxConnectionAgeGrace
	// to end, after which long streams (WatchAlerts, resumable) are cut.
	MaxConnectionAge, MaxConnectionAgeGrace time.Duration
	// MinPingInterval: a client pinging more often is disconnected.
	MinPingInterval time.Duration
}

// DefaultLimits suit every tokenmeter service.
var DefaultLimits = Limits{
	MaxConcurrentStreams:  1000,
	MaxConnectionIdle:     15 * time.Minute,
	MaxConnectionAge:      time.Hour,
	MaxConnectionAgeGrace: 5 * time.Minute,
	MinPingInterval:       10 * time.Second,
}

func (l Limits) serverOptions() []grpc.ServerOption {
	d := DefaultLimits
	pick := func(v, def time.Duration) time.Duration { return cmp.Or(v, def) }
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(cmp.Or(l.MaxConcurrentStreams, d.MaxConcurrentStreams)),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: pick(l.MinPingInterval, d.MinPingInterval), PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     pick(l.MaxConnectionIdle, d.MaxConnectionIdle),
			MaxConnectionAge:      pick(l.MaxConnectionAge, d.MaxConnectionAge),
			MaxConnectionAgeGrace: pick(l.MaxConnectionAgeGrace, d.MaxConnectionAgeGrace),
		}),
	}
}

// StreamWindow and ConnWindow are the HTTP/2 flow-control windows of every
// call and connection a server receives on (clients: ClientWindow). They are
// static because gRPC's dynamic windows probe the bandwidth-delay product with a
// PING on the first DATA frame read after the previous PING was answered:
// for small unary calls that do not overlap (a launch, a ledger decision
// at moderate load) that is a PING and its ACK, two more writes, reads and
// wake-ups, on nearly every call. 1 MiB a stream moves a gigabyte a second
// at a millisecond's round trip.
const (
	StreamWindow = 1 << 20
	ConnWindow   = 4 << 20
)

// DefaultStreamWorkers covers the calls a busy service has in flight: each
// waits on the ledger or JetStream most of its time.
const DefaultStreamWorkers = 128

// Listen opens the listener and builds the server; register services on it,
// then call Serve.
func Listen(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	lis, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", opts.Listen, err)
	}
	if opts.TLS != nil && opts.TLS.ClientCAs != nil {
		opts.Auth.ServiceCertRequired = true
	}
	unary := []grpc.UnaryServerInterceptor{recoverUnary(opts.Log), opts.Auth.Unary()}
	stream := []grpc.StreamServerInterceptor{recoverStream(opts.Log), opts.Auth.Stream()}
	serverOpts := []grpc.ServerOption{
		grpc.StaticStreamWindowSize(StreamWindow),
		grpc.StaticConnWindowSize(ConnWindow),
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}
	serverOpts = append(serverOpts, opts.Limits.serverOptions()...)
	if opts.TLS != nil {
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	if opts.StreamWorkers == 0 {
		opts.StreamWorkers = DefaultStreamWorkers
	}
	if opts.StreamWorkers > 0 {
		serverOpts = append(serverOpts, grpc.NumStreamWorkers(uint32(opts.StreamWorkers)))
	}
	gs := grpc.NewServer(serverOpts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	// The same interceptors in process: a call through it is authenticated
	// and authorized as one from the network is (its trace continues the
	// caller's, whose context it runs in).
	inproc := &inProcess{intercept: chainUnary(unary)}
	return &Server{Server: gs, inproc: inproc, health: hs, listener: lis, log: opts.Log}, nil
}

// RegisterService registers a service on the server and on its in-process
// channel (see InProcess); generated Register functions call it.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.Server.RegisterService(desc, impl)
	s.inproc.register(desc, impl)
}

// InProcess is a connection to this server's own unary methods that never
// leaves the process: a call is a function call with the messages copied,
// through the server's interceptors, with the caller's metadata as the
// handler's incoming metadata. For a door in front of the
// server in the same process (the HTTP/JSON gateway), it spares each call an
// HTTP/2 round trip over loopback: encoding, framing, and a write, a read and a
// wake-up on each side.
func (s *Server) InProcess() grpc.ClientConnInterface { return s.inproc }

// Addr is the address actually listened on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Serve marks every registered service SERVING and serves until Stop.
func (s *Server) Serve() error {
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for name := range s.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	if err := s.Server.Serve(s.listener); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// NotServing tells health checkers to stop sending traffic: the first step of shutdown.
func (s *Server) NotServing() { s.health.Shutdown() }

// Shutdown stops gracefully, letting calls in flight finish, and forces the
// stop when ctx ends first.
func (s *Server) Shutdown(ctx context.Context) {
	s.NotServing()
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("graceful stop timed out; stopping", "addr", s.Addr())
		s.Stop()
		<-done
	}
}

// ShutdownWithin is Shutdown with its own deadline, for use after the run
// context has already been cancelled.
func (s *Server) ShutdownWithin(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	s.Shutdown(ctx)
}

// recoverUnary answers a panic with Internal, and logs it as it logs the
// cause of an answer made with Internal.
func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		resp, err = handler(ctx, req)
		logInternal(ctx, log, info.FullMethod, err)
		return resp, err
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in stream handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}
