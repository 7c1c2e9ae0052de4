package grpcserver

import (
	"fmt"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// Dial connects to a tokenmeter service at addr, sending apiKey with every
// call and the trace context in the metadata.
func Dial(addr, apiKey string) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStaticStreamWindowSize(StreamWindow),
		grpc.WithStaticConnWindowSize(ConnWindow),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	}
	if apiKey != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(auth.Bearer(apiKey)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}
