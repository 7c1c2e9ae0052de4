// Package console is the admin web console the reporting service serves: a
// single-page app embedded in the binary, and a JSON API that is nothing but
// the services' own gRPC contract through grpc-gateway
// (POST /api/tokenmeter.v1.<Service>/<Method>), so the console reads exactly
// what tokenctl and every other client read, with the caller's own admin key.
package console

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	gateway "github.com/tokenmeter/tokenmeter/proto/gen/go/gateway/tokenmeter/v1"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/console/sso"
)

// MaxBodyBytes bounds an API request body.
const MaxBodyBytes = 1 << 20

// Config says where the console listens and which gRPC servers its API reaches.
type Config struct {
	Listen string
	// ReportingAddr is the reporting service's own gRPC address.
	ReportingAddr string
	// LedgerAddr and AlertingAddr are optional: without them the balance
	// and alert pages say the service is not configured.
	LedgerAddr   string
	AlertingAddr string
	// IngestionAddr is optional: without it the access keys page says the
	// service is not configured.
	IngestionAddr string
	// TLS serves the console over TLS (nil: plaintext); SelfTLS dials
	// ReportingAddr and ClientTLS the other services (nil: plaintext).
	TLS, SelfTLS, ClientTLS *tls.Config
	// SSO signs people in with OpenID Connect (zero: API keys only);
	// SessionKeys stores each session's key and People shows the person it
	// names as the organisation shows its people (both needed with SSO).
	SSO         sso.Config
	SessionKeys sso.Keys
	People      sso.People
	// Grants are the owners' role grants (nil: the grants file's alone).
	Grants sso.APIGrants
	// KnowsKey says whether this service already accepts a key: a sign-in
	// waits (briefly) for its new session key to reach it (nil: no wait).
	KnowsKey func(secret string) bool
	// Log records sign-ins refused and providers unreachable (nil: slog's default).
	Log *slog.Logger
}

// Server is the listening console.
type Server struct {
	http     *http.Server
	listener net.Listener
	conns    []*grpc.ClientConn
	tls      bool
}

// Listen opens cfg.Listen; Serve serves.
func Listen(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.ReportingAddr == "" {
		return nil, errors.New("console: the reporting gRPC address is required")
	}
	s := &Server{}
	defer func() {
		if err != nil {
			s.closeConns()
		}
	}()
	gw := grpcserver.NewGateway()
	type backend struct {
		addr     string
		register func(context.Context, *grpc.ClientConn) error
	}
	for i, b := range []backend{
		{cfg.ReportingAddr, func(ctx context.Context, c *grpc.ClientConn) error {
			return gateway.RegisterReportingServiceHandler(ctx, gw, c)
		}},
		{cfg.LedgerAddr, func(ctx context.Context, c *grpc.ClientConn) error {
			return gateway.RegisterLedgerServiceHandler(ctx, gw, c)
		}},
		{cfg.AlertingAddr, func(ctx context.Context, c *grpc.ClientConn) error {
			return gateway.RegisterAlertingServiceHandler(ctx, gw, c)
		}},
		{cfg.IngestionAddr, func(ctx context.Context, c *grpc.ClientConn) error {
			return gateway.RegisterIngestionServiceHandler(ctx, gw, c)
		}},
	} {
		if b.addr == "" {
			continue
		}
		// No key of the console's own: every call carries the signed-in
		// admin's Authorization header, so the services decide as for any client.
		tlsConf := cfg.ClientTLS
		if i == 0 {
			tlsConf = cfg.SelfTLS
		}
		conn, err := grpcserver.DialTLS(b.addr, "", tlsConf)
		if err != nil {
			return nil, err
		}
		s.conns = append(s.conns, conn)
		if err := b.register(ctx, conn); err != nil {
			return nil, fmt.Errorf("console api: %w", err)
		}
	}
	mux, err := routes(ctx, cfg, &exportHandler{reporting: v1.NewReportingServiceClient(s.conns[0])},
		apiRoutes(http.StripPrefix("/api", limitBody(gw))))
	if err != nil {
		return nil, err
	}

	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("console listen %s: %w", cfg.Listen, err)
	}
	s.listener, s.tls = certs.HTTPListener(lis, cfg.TLS), cfg.TLS != nil
	// No write timeout: exports and the alert feed stream for as long as they need.
	s.http = grpcserver.NewHTTPServer(otelhttp.NewHandler(secureHeaders(mux), "reporting.console"), grpcserver.DoorReadTimeout, 0)
	return s, nil
}

// routes serves the API (through sign-on's sessions when it is configured),
// the sign-in routes and the app.
func routes(ctx context.Context, cfg Config, exports, api http.Handler) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	if cfg.SSO.Enabled() {
		log := cfg.Log
		if log == nil {
			log = slog.Default()
		}
		signOn, err := sso.New(ctx, cfg.SSO, cfg.SessionKeys, cfg.People, cfg.Grants, log)
		if err != nil {
			return nil, err
		}
		signOn.AwaitKeys(cfg.KnowsKey)
		signOn.Routes(mux)
		exports, api = signOn.Wrap(exports), signOn.Wrap(api)
	} else {
		mux.HandleFunc("GET /auth/session", noSSO)
	}
	mux.Handle("GET /api/export", exports)
	mux.Handle("/api/", api)
	mux.Handle("/", assets())
	return mux, nil
}

// Addr is the address actually listened on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is where a browser opens the console.
func (s *Server) URL() string {
	host, port, _ := net.SplitHostPort(s.Addr())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http://"
	if s.tls {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port) + "/"
}

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// Shutdown lets requests in flight finish until ctx ends (live alert feeds
// are cut then), and closes the gRPC connections.
func (s *Server) Shutdown(ctx context.Context) {
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
	s.closeConns()
}

func (s *Server) closeConns() {
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		h.ServeHTTP(w, r)
	})
}

// secureHeaders: the console loads nothing from elsewhere and is never framed.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// ingestionCalls are the ingestion RPCs the console offers: access keys and role grants.
const ingestionPrefix = "/api/tokenmeter.v1.IngestionService/"

var ingestionCalls = []string{"ListAccessKeys", "CreateAccessKey", "RevokeAccessKey", "ListRoleGrants", "CreateRoleGrant", "RevokeRoleGrant"}

// apiRoutes serves /api/ but GET /api/export: the RPCs, and a 405 with Allow
// for another method on a path that exists.
func apiRoutes(rpc http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, ingestionPrefix) && !slices.Contains(ingestionCalls, strings.TrimPrefix(r.URL.Path, ingestionPrefix)):
			apiNotFound(w, r) // the launchers' calls are the launchers' door's
		case strings.HasPrefix(r.URL.Path, "/api/tokenmeter.v1."):
			rpc.ServeHTTP(w, r) // another method than POST: 405, Allow: POST
		case r.URL.Path == "/api/export":
			w.Header().Set("Allow", "GET, HEAD")
			writeJSONErrorStatus(w, http.StatusMethodNotAllowed, codes.Unimplemented, "/api/export takes GET only")
		default:
			apiNotFound(w, r)
		}
	}
}

// noSSO tells the page to sign in with an API key.
func noSSO(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"sso":false,"signed_in":false}`))
}

func apiNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSONError(w, codes.NotFound, fmt.Sprintf("no API at %s: this console's API is POST /api/tokenmeter.v1.<Service>/<Method> and GET /api/export", r.URL.Path))
}
