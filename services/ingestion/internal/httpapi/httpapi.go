// Package httpapi is the launcher API's HTTP/JSON door: grpc-gateway
// translates POST /tokenmeter.v1.IngestionService/<Method> with a JSON body
// into a call on ingestion's own gRPC service, so both doors share one
// contract, one authentication, one validation and one set of status codes.
package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	gateway "github.com/tokenmeter/tokenmeter/proto/gen/go/gateway/tokenmeter/v1"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// MaxBodyBytes bounds a request body. The handlers are called in process, so
// the gRPC server's receive limit (also 4 MiB) never sees these requests:
// this is the door's only size limit, and the protobuf decoded from a body
// is never larger than its JSON. Field-level limits (attributes, batch size)
// are the handlers' own checks, the same through both doors.
const MaxBodyBytes = 4 << 20

// Server is the listening HTTP door.
type Server struct {
	http     *http.Server
	listener net.Listener
}

// Listen opens listen and serves each request by a call on conn: the gRPC
// server's in-process connection (grpcserver.Server.InProcess), so a request
// runs through the same interceptors as a gRPC call without a second trip
// over the network.
func Listen(ctx context.Context, listen string, tlsConf *tls.Config, conn grpc.ClientConnInterface) (*Server, error) {
	mux := grpcserver.NewGateway()
	if err := gateway.RegisterIngestionServiceHandlerClient(ctx, mux, v1.NewIngestionServiceClient(conn)); err != nil {
		return nil, fmt.Errorf("http door: %w", err)
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", listen, err)
	}
	// otelhttp continues a caller's trace (traceparent header); the call the
	// gateway makes runs in the request's context, so one launch stays one
	// trace through this door too.
	handler := otelhttp.NewHandler(limitBody(mux), "ingestion.http")
	hs := grpcserver.NewHTTPServer(handler, grpcserver.DoorReadTimeout, grpcserver.DoorReadTimeout)
	return &Server{http: hs, listener: certs.HTTPListener(lis, tlsConf)}, nil
}

// Addr is the address actually listened on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http door: %w", err)
	}
	return nil
}

// Shutdown lets requests in flight finish until ctx ends, then closes.
func (s *Server) Shutdown(ctx context.Context) {
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
}

func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}
