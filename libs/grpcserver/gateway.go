package grpcserver

import (
	"context"
	"math"
	"net/http"
	"net/textproto"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// NewGateway is the grpc-gateway mux every HTTP/JSON door of tokenmeter
// uses, so they all speak the same JSON: proto field names, unset fields
// present (a client sees 0 rather than nothing), unknown request fields
// ignored (older servers accept newer clients), the Authorization header
// and the acting organisation forwarded as gRPC metadata, and errors as
// google.rpc.Status JSON with Retry-After when the status carries RetryInfo.
// Every method is a POST: another method on a method's path is 405 with
// Allow: POST.
func NewGateway(opts ...runtime.ServeMuxOption) *runtime.ServeMux {
	base := []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: true},
		}),
		runtime.WithIncomingHeaderMatcher(gatewayHeaders),
		runtime.WithErrorHandler(gatewayError),
		runtime.WithRoutingErrorHandler(gatewayRouting),
	}
	return runtime.NewServeMux(append(base, opts...)...)
}

// gatewayHeaders forwards the organisation a service key acts for, besides
// the gateway's defaults (Authorization, Grpc-Metadata-*).
func gatewayHeaders(key string) (string, bool) {
	if textproto.CanonicalMIMEHeaderKey(key) == textproto.CanonicalMIMEHeaderKey(auth.MetadataOrg) {
		return auth.MetadataOrg, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// gatewayError is grpc-gateway's error answer plus Retry-After, with the
// message cut to MaxMessage: the gateway's own JSON decoding errors quote
// the value they refuse whole.
func gatewayError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok {
		if len(st.Message()) > MaxMessage {
			p := st.Proto()
			p.Message = quote.Cut(p.GetMessage(), MaxMessage)
			err = status.ErrorProto(p)
		}
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				secs := int(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			}
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// gatewayRouting answers a path that exists under another method with 405
// and Allow (grpc-gateway's default is 501 Not Implemented); the rest as
// grpc-gateway does.
func gatewayRouting(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus != http.StatusMethodNotAllowed {
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		return
	}
	w.Header().Set("Allow", http.MethodPost)
	err := status.Error(codes.Unimplemented, "this path takes POST only: every method of this API is a POST")
	gatewayError(ctx, mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: err})
}

// HTTP door limits: a request's headers and body must arrive within
// DoorReadTimeout, its headers within DoorHeaderTimeout and MaxHeaderBytes,
// so a slow client (authenticated or not: the body is read before the key is
// checked) cannot hold a connection open.
const (
	DoorHeaderTimeout = 5 * time.Second
	DoorReadTimeout   = 30 * time.Second
	DoorIdleTimeout   = 2 * time.Minute
	DoorHeaderBytes   = 64 << 10
)

// NewHTTPServer is an HTTP/JSON door's server with those limits. A door that
// answers quickly passes writeTimeout; one that streams (an export, a watch)
// passes 0.
func NewHTTPServer(handler http.Handler, readTimeout, writeTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: min(DoorHeaderTimeout, readTimeout),
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       DoorIdleTimeout,
		MaxHeaderBytes:    DoorHeaderBytes,
	}
}
