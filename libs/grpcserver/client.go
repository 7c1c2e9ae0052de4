package grpcserver

import (
	"crypto/tls"
	"fmt"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// ClientWindow is a client's receive window, per call and per connection:
// static like the servers' (see StreamWindow), and larger, because what a
// client receives in bulk is an export streamed to tokenctl, maybe across a
// continent, which dynamic windows would have grown to 16 MiB: 1 MiB at a
// 150 ms round trip would cap it at 7 MB/s, 16 MiB lets it run at 100 MB/s.
// A window costs memory only while data is sent and not yet read.
const ClientWindow = 16 << 20

// Dial connects to a tokenmeter service at addr in plaintext, sending apiKey
// with every call and the trace context in the metadata.
func Dial(addr, apiKey string) (*grpc.ClientConn, error) {
	return DialTLS(addr, apiKey, nil)
}

// DialTLS is Dial over TLS with tlsConf (nil: plaintext).
func DialTLS(addr, apiKey string, tlsConf *tls.Config) (*grpc.ClientConn, error) {
	var key credentials.PerRPCCredentials
	if apiKey != "" {
		key = auth.Bearer(apiKey)
	}
	return DialKey(addr, key, tlsConf)
}

// DialKey is DialTLS sending the credential key (nil: none), such as an
// auth.RotatingBearer that a reload replaces.
func DialKey(addr string, key credentials.PerRPCCredentials, tlsConf *tls.Config) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if tlsConf != nil {
		creds = credentials.NewTLS(tlsConf)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithStaticStreamWindowSize(ClientWindow),
		grpc.WithStaticConnWindowSize(ClientWindow),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	}
	if key != nil {
		opts = append(opts, grpc.WithPerRPCCredentials(key))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}
