package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// MoveTokens moves tokens from one team's pool to another team of the same
// organisation.
type MoveTokens struct {
	Org, From, To   string
	EventID, Reason string
	Tokens          int64
	At              time.Time
	Actor           *v1.Actor
}

// MoveTokensHandler moves tokens in two idempotent steps: the source records
// the move (its packs' split), then the target adds one pack per part with
// the source pack's expiry. A retry with the same event id completes a move
// whose second step was interrupted; a target suspended in between gets
// nothing and the tokens go back to the source.
type MoveTokensHandler struct{ Pools Pools }

// Handle runs the move.
func (h MoveTokensHandler) Handle(ctx context.Context, c MoveTokens) error {
	if err := refuseSuspended(ctx, h.Pools, c.Org, c.To, "move to"); err != nil {
		return err
	}
	err := h.Pools.Decide(ctx, c.Org, c.From, c.At, func(pl *pool.Pool) ([]*v1.Event, error) {
		if _, done := pl.MoveOut(c.EventID); done {
			return nil, nil
		}
		return single(pl.DecideMoveOut(c.EventID, c.To, c.Tokens, c.Reason, c.At, c.Actor))
	})
	if err != nil {
		return err
	}
	move, err := recordedMove(ctx, h.Pools, c.Org, c.From, c.EventID)
	if err != nil {
		return err
	}
	if move == nil {
		return fmt.Errorf("move %s not found after recording it", c.EventID)
	}
	err = h.moveIn(ctx, c, move, c.From, c.To)
	if !errors.Is(err, pool.ErrSuspended) {
		return err // nil, or: retry the same event id to complete the move
	}
	// The target was suspended in between: give the tokens back rather
	// than strand them (to where the source went, if it was merged too).
	rerr := decideFollowingMerges(ctx, h.Pools, c.Org, c.From, c.At, func(pl *pool.Pool) ([]*v1.Event, error) {
		return pl.DecideMoveIn(move, c.To, c.At, c.Actor)
	})
	if rerr != nil {
		return fmt.Errorf("give move %s back to team %s: %w", c.EventID, c.From, rerr)
	}
	return fmt.Errorf("move to team %s: %w", c.To, err)
}

// moveIn adds the parts of move to to's pool.
func (h MoveTokensHandler) moveIn(ctx context.Context, c MoveTokens, move *pool.Move, from, to string) error {
	return h.Pools.Decide(ctx, c.Org, to, c.At, func(pl *pool.Pool) ([]*v1.Event, error) {
		return pl.DecideMoveIn(move, from, c.At, c.Actor)
	})
}
