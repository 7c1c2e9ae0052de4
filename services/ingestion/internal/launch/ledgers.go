package launch

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Replica is one ledger replica ingestion calls.
type Replica struct {
	// ID is its name in the ledger ring (SeedID for -ledger-addr's).
	ID     string
	Client v1.LedgerServiceClient
	// first and retry count the requests sent to it, their attribute sets
	// built once.
	first, retry metric.AddOption
}

// SeedID names the replica -ledger-addr reaches.
const SeedID = "seed"

// NewReplica returns the replica id reached through c.
func NewReplica(id string, c v1.LedgerServiceClient) Replica {
	opt := func(attempt string) metric.AddOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String("replica", id), attribute.String("attempt", attempt)))
	}
	return Replica{ID: id, Client: c, first: opt("first"), retry: opt("retry")}
}

// count counts n requests (launches, a heartbeat, a quote) sent to r.
func (r Replica) count(ctx context.Context, n int, retry bool) {
	if retry {
		ledgerRequests.Add(ctx, int64(n), r.retry)
		return
	}
	ledgerRequests.Add(ctx, int64(n), r.first)
}

var ledgerRequests = telemetry.Must(meter.Int64Counter("tokenmeter.ingestion.ledger_requests",
	metric.WithDescription("Launches, heartbeats and quotes sent to each ledger replica, by replica (its ring id; seed: -ledger-addr) and attempt (first; retry: the pool's owner was unavailable)")))

// Ledgers picks the ledger replica that decides a pool's calls.
type Ledgers interface {
	// Owner is the replica to ask about org's team's pool.
	Owner(org, team string) Replica
	// Other is a replica other than failed to ask instead (false: none).
	Other(org, team, failed string) (Replica, bool)
}

// One is a single ledger address, which decides (or forwards) every pool.
type One struct{ Replica Replica }

// Owner is the one replica.
func (o One) Owner(string, string) Replica { return o.Replica }

// Other is none.
func (One) Other(string, string, string) (Replica, bool) { return Replica{}, false }

// ask calls the pool's owner and, when it is unavailable, once more another
// replica: the event id makes the second call idempotent, and the ledger's
// expected-sequence append keeps a pool right when two replicas decide it.
func ask[T any](ctx context.Context, l Ledgers, org, team string, call func(context.Context, v1.LedgerServiceClient) (T, error)) (T, error) {
	ctx = auth.ActingFor(ctx, org)
	owner := l.Owner(org, team)
	owner.count(ctx, 1, false)
	res, err := call(ctx, owner.Client)
	if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
		return res, err
	}
	other, ok := l.Other(org, team, owner.ID)
	if !ok {
		return res, err
	}
	other.count(ctx, 1, true)
	return call(ctx, other.Client)
}
