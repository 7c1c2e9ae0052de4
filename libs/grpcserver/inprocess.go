package grpcserver

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// inProcess calls a server's unary methods as function calls, through the
// server's own interceptors (see Server.InProcess).
type inProcess struct {
	intercept grpc.UnaryServerInterceptor

	mu      sync.RWMutex
	methods map[string]inProcessMethod // by full method name, "/pkg.Service/Method"
}

type inProcessMethod struct {
	impl    any
	handler grpc.MethodHandler
}

func (c *inProcess) register(desc *grpc.ServiceDesc, impl any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.methods == nil {
		c.methods = map[string]inProcessMethod{}
	}
	for _, m := range desc.Methods {
		c.methods["/"+desc.ServiceName+"/"+m.MethodName] = inProcessMethod{impl: impl, handler: m.Handler}
	}
}

// Invoke runs method's handler on this goroutine with a copy of args and
// copies its answer into reply. The handler sees the caller's outgoing
// metadata as its incoming metadata and no outgoing metadata of its own: the
// caller's credentials must not ride along on the calls the handler makes.
// What differs from a call over the network: a deadline that passes while
// the handler runs is answered when the handler returns (DeadlineExceeded,
// as the network would have answered), not at the instant it passes.
func (c *inProcess) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.mu.RLock()
	m, ok := c.methods[method]
	c.mu.RUnlock()
	if !ok {
		return status.Errorf(codes.Unimplemented, "method %s not served in process", method)
	}
	in, ok := args.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "request %T is not a protocol buffer", args)
	}
	out, ok := reply.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "reply %T is not a protocol buffer", reply)
	}
	if err := ctx.Err(); err != nil {
		// A caller gone or out of time before the call: the network would
		// not have run the handler either.
		return status.FromContextError(err).Err()
	}
	// The server span a call from the network gets from otelgrpc, under the
	// caller's span (the HTTP door's).
	ctx, span := otel.Tracer("github.com/tokenmeter/tokenmeter/libs/grpcserver").Start(ctx, method[1:],
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(inProcessAttr))
	defer span.End()
	md, _ := metadata.FromOutgoingContext(ctx)
	stream := &inProcessStream{method: method}
	sctx := metadata.NewOutgoingContext(metadata.NewIncomingContext(ctx, md), nil)
	sctx = peer.NewContext(grpc.NewContextWithServerTransportStream(sctx, stream), inProcessPeer)
	dec := func(v any) error {
		proto.Merge(v.(proto.Message), in)
		return nil
	}
	resp, err := m.handler(m.impl, sctx, dec, c.intercept)
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr // the caller's deadline or cancellation wins, as over the network
	}
	stream.answer(opts)
	if err != nil {
		// A handler's plain context error is its status, as grpc-go's server
		// makes it; any other error that is no status is Unknown.
		st, ok := status.FromError(err)
		if !ok {
			st = status.FromContextError(err)
		}
		endInProcessSpan(span, st.Code(), st.Message())
		return st.Err()
	}
	res, ok := resp.(proto.Message)
	if !ok || res == nil {
		return status.Errorf(codes.Internal, "%s answered neither an error nor a message", method)
	}
	endInProcessSpan(span, codes.OK, "")
	proto.Reset(out)
	proto.Merge(out, res)
	return nil
}

// endInProcessSpan records a call's status as otelgrpc's server handler
// does: the code always, an error only for the codes that are the server's fault.
func endInProcessSpan(span trace.Span, code codes.Code, msg string) {
	span.SetAttributes(attribute.Int64("rpc.grpc.status_code", int64(code)))
	switch code {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		span.SetStatus(otelcodes.Error, msg)
	}
}

// inProcessStream is what grpc.SetHeader, grpc.SendHeader and
// grpc.SetTrailer reach in a handler called in process: it keeps the
// metadata for the caller's grpc.Header and grpc.Trailer options.
type inProcessStream struct {
	method string

	mu              sync.Mutex
	header, trailer metadata.MD
}

func (s *inProcessStream) Method() string { return s.method }

func (s *inProcessStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header = metadata.Join(s.header, md)
	return nil
}

func (s *inProcessStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

func (s *inProcessStream) SetTrailer(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// answer hands the handler's header and trailer, and the peer, to the
// caller's call options that ask for them.
func (s *inProcessStream) answer(opts []grpc.CallOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = s.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = s.trailer
		case grpc.PeerCallOption:
			*o.PeerAddr = *inProcessPeer
		}
	}
}

// inProcessPeer is the peer a handler called in process sees.
var inProcessPeer = &peer.Peer{Addr: inProcessAddr{}, LocalAddr: inProcessAddr{}}

type inProcessAddr struct{}

func (inProcessAddr) Network() string { return "inprocess" }
func (inProcessAddr) String() string  { return "inprocess" }

var inProcessAttr = attribute.String("rpc.system", "grpc")

// NewStream refuses: no door calls a streaming method in process.
func (c *inProcess) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "streaming calls are not served in process")
}
