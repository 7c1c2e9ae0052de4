// Package command holds the ledger's use cases that span two teams' pools:
// moving tokens and merging teams, one file each. Each is a saga of one
// decision per pool (pool.Decide, through the store) whose event ids derive
// from the request's, so repeating a request with the same event id completes
// one that was interrupted. The gRPC edge only maps requests and errors.
package command

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Pools is what the use cases need of the store (store.Store).
type Pools interface {
	Decide(ctx context.Context, org, team string, now time.Time, decide pool.Command) error
	Read(ctx context.Context, org, team string, fn func(p *pool.Pool)) error
}

// recordedMove returns the move team's pool recorded under id; nil when it
// recorded none (a merge of a pool with no tokens).
func recordedMove(ctx context.Context, pools Pools, org, team, id string) (*pool.Move, error) {
	var move *pool.Move
	if err := pools.Read(ctx, org, team, func(pl *pool.Pool) { move, _ = pl.MoveOut(id) }); err != nil {
		return nil, fmt.Errorf("read move %s: %w", id, err)
	}
	return move, nil
}

// single is the pool.Command result of a decision of one event.
func single(ev *v1.Event, err error) ([]*v1.Event, error) {
	if err != nil {
		return nil, err
	}
	return []*v1.Event{ev}, nil
}

// refuseSuspended returns ErrSuspended when team's pool is suspended: a
// target checked before the source gives anything up.
func refuseSuspended(ctx context.Context, pools Pools, org, team, what string) error {
	suspended := false
	if err := pools.Read(ctx, org, team, func(pl *pool.Pool) { suspended = pl.Suspended() }); err != nil {
		return err
	}
	if suspended {
		return fmt.Errorf("%s team %s: %w", what, team, pool.ErrSuspended)
	}
	return nil
}
