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
func (c *inProcess) Invoke(ctx context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
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
	// The server span a call from the network gets from otelgrpc, under the
	// caller's span (the HTTP door's).
	ctx, span := otel.Tracer("github.com/tokenmeter/tokenmeter/libs/grpcserver").Start(ctx, method[1:],
		trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(inProcessAttr))
	defer span.End()
	md, _ := metadata.FromOutgoingContext(ctx)
	sctx := metadata.NewOutgoingContext(metadata.NewIncomingContext(ctx, md), nil)
	dec := func(v any) error {
		proto.Merge(v.(proto.Message), in)
		return nil
	}
	resp, err := m.handler(m.impl, sctx, dec, c.intercept)
	if err != nil {
		st := status.Convert(err)
		span.SetAttributes(attribute.Int64("rpc.grpc.status_code", int64(st.Code())))
		span.SetStatus(otelcodes.Error, st.Message())
		return st.Err()
	}
	res, ok := resp.(proto.Message)
	if !ok || res == nil {
		return status.Errorf(codes.Internal, "%s answered neither an error nor a message", method)
	}
	proto.Reset(out)
	proto.Merge(out, res)
	return nil
}

var inProcessAttr = attribute.String("rpc.system", "grpc")

// NewStream refuses: no door calls a streaming method in process.
func (c *inProcess) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "streaming calls are not served in process")
}
