// Package balance asks the ledger, over gRPC, for pools' balances: the
// authoritative tokens remaining and live packs.
package balance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// ErrNotConfigured means no ledger address was given.
var ErrNotConfigured = errors.New("no ledger configured")

// Ledger reads balances from the ledger service with a service key.
type Ledger struct {
	conn    *grpc.ClientConn
	client  v1.LedgerServiceClient
	timeout time.Duration
}

// Dial returns a client of the ledger at addr (nil, nil when addr is empty:
// reports then say the remaining tokens are unknown).
func Dial(addr string, serviceKey credentials.PerRPCCredentials, timeout time.Duration, tlsConf *tls.Config) (*Ledger, error) {
	if addr == "" {
		return nil, nil
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	conn, err := grpcserver.DialKey(addr, serviceKey, tlsConf)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return &Ledger{conn: conn, client: v1.NewLedgerServiceClient(conn), timeout: timeout}, nil
}

// Balance returns team's balance in org. A nil Ledger returns ErrNotConfigured.
func (l *Ledger) Balance(ctx context.Context, org, team string) (*v1.Balance, error) {
	if l == nil {
		return nil, ErrNotConfigured
	}
	ctx, cancel := context.WithTimeout(auth.ActingFor(ctx, org), l.timeout)
	defer cancel()
	resp, err := l.client.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: team})
	if err != nil {
		return nil, fmt.Errorf("ledger balance of %s/%s: %w", org, team, err)
	}
	return resp.GetBalance(), nil
}

// Close closes the connection.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	return l.conn.Close()
}
