package command

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// MergeTeams closes one team into another of the same organisation.
type MergeTeams struct {
	Org, From, Into string
	EventID, Reason string
	At              time.Time
	Actor           *v1.Actor
}

// Merged is what a merge moved.
type Merged struct {
	TokensMoved, UsersMoved int64
}

// MergeTeamsHandler suspends the source pool, moving out every live token,
// then gives the target those tokens (one pack per part, keeping each
// source pack's expiry), every assignment and every named subscription in
// force of the source, in one decision. A suspended target is refused
// before the source gives anything up.
// A retry with the same event id completes an interrupted merge.
type MergeTeamsHandler struct{ Pools Pools }

// Handle runs the merge.
func (h MergeTeamsHandler) Handle(ctx context.Context, c MergeTeams) (Merged, error) {
	if err := refuseSuspended(ctx, h.Pools, c.Org, c.Into, "merge into"); err != nil {
		return Merged{}, err
	}
	var (
		users map[string][]string
		subs  []pool.Subscription
	)
	err := h.Pools.Decide(ctx, c.Org, c.From, c.At, func(pl *pool.Pool) ([]*v1.Event, error) {
		users, subs = pl.Users(), pl.Subscriptions(c.At)
		if _, done := pl.Applied(c.EventID); done {
			return nil, nil
		}
		return single(pl.DecideMerge(c.EventID, c.Into, c.Reason, c.At, c.Actor))
	})
	if err != nil {
		return Merged{}, err
	}
	move, err := recordedMove(ctx, h.Pools, c.Org, c.From, c.EventID)
	if err != nil {
		return Merged{}, err
	}
	err = h.Pools.Decide(ctx, c.Org, c.Into, c.At, func(pl *pool.Pool) ([]*v1.Event, error) {
		var out []*v1.Event
		if move != nil {
			in, err := pl.DecideMoveIn(move, c.From, c.At, c.Actor)
			if err != nil {
				return nil, err
			}
			out = in
		}
		for user, products := range users {
			id := fmt.Sprintf("%s/user/%s", c.EventID, user)
			if _, done := pl.Applied(id); done {
				continue
			}
			ev, err := pl.DecideAssign(id, user, products, c.At, c.Actor)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		carried, err := carrySubscriptions(pl, subs, c)
		return append(out, carried...), err
	})
	if err != nil {
		return Merged{}, err
	}
	m := Merged{UsersMoved: int64(len(users))}
	if move != nil {
		for _, part := range move.Parts {
			m.TokensMoved += part.Tokens
		}
	}
	return m, nil
}

// carrySubscriptions grants in the target pool the source's subscriptions
// in force, each with its end, under ids derived from the merge's.
func carrySubscriptions(pl *pool.Pool, subs []pool.Subscription, c MergeTeams) ([]*v1.Event, error) {
	var out []*v1.Event
	for _, s := range subs {
		id := fmt.Sprintf("%s/subscription/%s/%s", c.EventID, s.User, s.Product)
		if _, done := pl.Applied(id); done {
			continue
		}
		ev, err := pl.DecideGrant(pool.Grant{EventID: id, User: s.User, Products: []string{s.Product}, EndsAt: s.EndsAt,
			Reason: "merged from " + c.From, At: c.At, Actor: c.Actor})
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}
