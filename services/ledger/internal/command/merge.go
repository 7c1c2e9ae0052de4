package command

import (
	"context"
	"errors"
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
// source pack's expiry), every assignment, every named subscription in
// force and every user group of the source, in one decision. A suspended
// target, or one whose group bounds could not take the source's groups, is
// refused before the source gives anything up; a target merged away after
// that passes what it receives on to the team it went to. A retry with the
// same event id completes an interrupted merge.
type MergeTeamsHandler struct{ Pools Pools }

// Handle runs the merge.
func (h MergeTeamsHandler) Handle(ctx context.Context, c MergeTeams) (Merged, error) {
	if err := mayBegin(ctx, h.Pools, c); err != nil {
		return Merged{}, err
	}
	var (
		users  map[string][]string
		subs   []pool.Subscription
		groups []pool.Group
	)
	err := h.Pools.Decide(ctx, c.Org, c.From, c.At, func(pl *pool.Pool) ([]*v1.Event, error) {
		users, subs, groups = pl.Users(), pl.Subscriptions(c.At), pl.Groups()
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
	if err := carryAlong(ctx, h.Pools, c, move, carry{users, subs, groups}); err != nil {
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

// mayBegin refuses a merge the target cannot take, before the source gives
// anything up; a merge the source has recorded already is being completed,
// wherever its target went since.
func mayBegin(ctx context.Context, pools Pools, c MergeTeams) error {
	begun := false
	if err := pools.Read(ctx, c.Org, c.From, func(pl *pool.Pool) { _, begun = pl.Applied(c.EventID) }); err != nil {
		return fmt.Errorf("read team %s: %w", c.From, err)
	}
	if begun {
		return nil
	}
	if err := refuseSuspended(ctx, pools, c.Org, c.Into, "merge into"); err != nil {
		return err
	}
	return groupsFit(ctx, pools, c)
}

// maxMergeHops bounds how far a merge follows targets merged away meanwhile.
const maxMergeHops = 16

// carryAlong gives the target the source's tokens, users and groups. A
// target merged away after the source gave them up passes them on to the
// team it went to: the source is closed for good, so giving them back is
// no way out.
func carryAlong(ctx context.Context, pools Pools, c MergeTeams, move *pool.Move, k carry) error {
	return decideFollowingMerges(ctx, pools, c.Org, c.Into, c.At, func(pl *pool.Pool) ([]*v1.Event, error) {
		return carryInto(pl, c, move, k)
	})
}

// decideFollowingMerges decides on team's pool, or, where it was merged away
// (a suspended pool takes nothing), on the team it went to, and so on.
func decideFollowingMerges(ctx context.Context, pools Pools, org, team string, at time.Time, decide pool.Command) error {
	for range maxMergeHops {
		next := ""
		err := pools.Decide(ctx, org, team, at, func(pl *pool.Pool) ([]*v1.Event, error) {
			next = pl.MergedInto()
			return decide(pl)
		})
		if !errors.Is(err, pool.ErrSuspended) || next == "" {
			return err
		}
		team = next
	}
	return fmt.Errorf("team %s was merged on more than %d times: %w", team, maxMergeHops, pool.ErrSuspended)
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

// groupsFit refuses a merge whose target could not take the source's user
// groups, before the source is suspended.
func groupsFit(ctx context.Context, pools Pools, c MergeTeams) error {
	var groups []pool.Group
	if err := pools.Read(ctx, c.Org, c.From, func(pl *pool.Pool) { groups = pl.Groups() }); err != nil {
		return fmt.Errorf("read groups of %s: %w", c.From, err)
	}
	var fit error
	if err := pools.Read(ctx, c.Org, c.Into, func(pl *pool.Pool) { fit = pl.CheckCarryGroups("into_team_id", groups) }); err != nil {
		return fmt.Errorf("read groups of %s: %w", c.Into, err)
	}
	return fit
}

// carry is what a merge gives the target besides tokens.
type carry struct {
	users  map[string][]string
	subs   []pool.Subscription
	groups []pool.Group
}

// carryInto decides the target's side of a merge: the moved packs, the
// assignments, subscriptions and user groups, each under an id derived from
// the merge's (skipped when a retry finds it applied).
func carryInto(pl *pool.Pool, c MergeTeams, move *pool.Move, k carry) ([]*v1.Event, error) {
	var out []*v1.Event
	if move != nil {
		in, err := pl.DecideMoveIn(move, c.From, c.At, c.Actor)
		if err != nil {
			return nil, err
		}
		out = in
	}
	for user, products := range k.users {
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
	carried, err := carrySubscriptions(pl, k.subs, c)
	if err != nil {
		return nil, err
	}
	out = append(out, carried...)
	carried, err = pl.DecideCarryGroups("into_team_id", c.EventID, k.groups, c.At, c.Actor)
	return append(out, carried...), err
}
