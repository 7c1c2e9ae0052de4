package grpcserver

import (
	"context"

	"google.golang.org/grpc"
)

// chainUnary runs ints in order around a handler, as grpc.ChainUnaryInterceptor
// does on a server (whose chaining is not exported).
func chainUnary(ints []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		next := handler
		for i := len(ints) - 1; i >= 0; i-- {
			in, h := ints[i], next
			next = func(ctx context.Context, req any) (any, error) { return in(ctx, req, info, h) }
		}
		return next(ctx, req)
	}
}
