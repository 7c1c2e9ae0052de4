package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Move is tokens moved out of this pool to another team of the organisation,
// remembered so the receiving side can be completed (again) from it.
type Move struct {
	EventID      string
	Counterparty string
	Parts        []MovedPart
}

// MovedPart is the tokens one source pack gave; they keep its expiry and price.
type MovedPart struct {
	PackID          string
	Tokens          int64
	ExpiresAt       time.Time
	PurchasedAt     time.Time
	UnitPriceMicros int64
	Currency        string
}

func (p *Pool) recordMove(eventID, counterparty string, split []*v1.PackSplit) {
	m := &Move{EventID: eventID, Counterparty: counterparty}
	for _, s := range split {
		pk := p.packIdx[s.GetPackId()]
		m.Parts = append(m.Parts, MovedPart{
			PackID: pk.ID, Tokens: s.GetTokens(), ExpiresAt: pk.ExpiresAt, PurchasedAt: pk.PurchasedAt,
			UnitPriceMicros: pk.UnitPriceMicros, Currency: pk.Currency,
		})
	}
	p.moves[eventID] = m
}

// Suspended reports whether the pool was closed (merged into another team).
func (p *Pool) Suspended() bool { return p.suspended }

// MergedInto is the team the pool was merged into ("" if none).
func (p *Pool) MergedInto() string { return p.mergedInto }

// MoveOut returns the move recorded under eventID.
func (p *Pool) MoveOut(eventID string) (*Move, bool) {
	m, ok := p.moves[eventID]
	return m, ok
}

// DecideMoveOut takes tokens out for another team: the TokensAdjusted
// (MOVE_OUT) event. The receiving pool then adds the parts with DecideMoveIn.
func (p *Pool) DecideMoveOut(eventID, to string, tokens int64, reason string, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	if to == p.Team {
		return nil, invalid("counterparty_team_id", "must differ from team_id")
	}
	if err := CheckRange("tokens", tokens, 1, MaxPoolTokens); err != nil {
		return nil, err
	}
	if len(reason) > MaxReasonLen {
		return nil, invalid("reason", "must be at most %d characters", MaxReasonLen)
	}
	parts, ok := p.split(tokens, at)
	if !ok {
		return nil, fmt.Errorf("move %d tokens, %d available: %w", tokens, p.BalanceAt(at).Available, ErrInsufficient)
	}
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_TokensAdjusted{TokensAdjusted: &v1.TokensAdjusted{
		Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT, Tokens: tokens, Split: parts, Reason: reason,
		CounterpartyTeamId: to, Pool: p.figures(at, -tokens, 0),
	}}
	return ev, nil
}

// DecideMerge suspends this pool and moves every available token out to
// into, as one event.
func (p *Pool) DecideMerge(eventID, into, reason string, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	if into == p.Team {
		return nil, invalid("into_team_id", "must differ from from_team_id")
	}
	if len(reason) > MaxReasonLen {
		return nil, invalid("reason", "must be at most %d characters", MaxReasonLen)
	}
	avail := p.BalanceAt(at).Available
	parts, _ := p.split(avail, at)
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_PoolSuspended{PoolSuspended: &v1.PoolSuspended{
		Reason: reason, MergedIntoTeamId: into, TokensMoved: avail, Split: parts, Pool: p.figures(at, -avail, 0),
	}}
	return ev, nil
}

// Users lists assigned users with their products.
func (p *Pool) Users() map[string][]string {
	out := map[string][]string{}
	for u, products := range p.users {
		for c := range products {
			out[u] = append(out[u], c)
		}
	}
	return out
}

// MovedPackID names the pack a moved part becomes in the receiving pool.
func MovedPackID(moveEventID, sourcePack string) string {
	sum := sha256.Sum256([]byte(moveEventID))
	return "mv-" + hex.EncodeToString(sum[:6]) + "-" + sourcePack
}

// DecideMoveIn returns the PackAdded events that give this pool the parts of
// a move from another team, skipping any already added (so it can be redone).
func (p *Pool) DecideMoveIn(m *Move, from string, at time.Time, actor *v1.Actor) ([]*v1.Event, error) {
	if p.suspended {
		return nil, ErrSuspended
	}
	var out []*v1.Event
	added := int64(0)
	for i, part := range m.Parts {
		id := fmt.Sprintf("%s/in/%d", m.EventID, i)
		if _, done := p.applied[id]; done {
			continue
		}
		ev := p.envelope(id, at, actor)
		ev.Payload = &v1.Event_PackAdded{PackAdded: &v1.PackAdded{
			PackId: MovedPackID(m.EventID, part.PackID), Tokens: part.Tokens,
			UnitPriceMicros: part.UnitPriceMicros, Currency: part.Currency,
			PurchasedAt: timestamppb.New(part.PurchasedAt), ExpiresAt: timestamppb.New(part.ExpiresAt),
			Source: v1.PackSource_PACK_SOURCE_ADJUSTMENT, Reason: "moved from team " + from,
			CounterpartyTeamId: from,
		}}
		live := int64(0)
		if part.ExpiresAt.After(at) {
			live = part.Tokens
		}
		added += live
		ev.GetPackAdded().Pool = p.figures(at, added, added)
		out = append(out, ev)
	}
	return out, nil
}
