package projector

import (
	"strings"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Pool event kinds in the pool_events table.
const (
	KindPackAdded = "pack_added" // bought, true-up or adjustment
	KindMoveIn    = "move_in"    // a pack moved in from another team
	KindRemove    = "remove"
	KindRefund    = "refund"
	KindMoveOut   = "move_out"
	KindExpired   = "expired"
	KindMergedOut = "merged_out" // the pool was merged into another team
)

// PoolEvents projects the money that enters or leaves a pool other than
// charges. tokens is signed: positive in, negative out.
var PoolEvents = Projection{
	Table:  "pool_events_v2",
	Stream: eventlog.LedgerStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "day", "at",
		"kind", "pack_id", "tokens", "unit_price_micros", "currency", "purchased_at", "expires_at",
		"source", "reason", "counterparty_team_id", "available_after",
		"split_pack_ids", "split_tokens", "actor",
	},
	Map: poolEventRow,
}

func poolEventRow(seq uint64, ev *v1.Event) (Record, bool) {
	at := serverTime(ev)
	var (
		kind, packID, currency, source, reason, counterparty string
		tokens, price, available                             int64
		purchased, expires                                   = zeroTime, zeroTime
		split                                                []*v1.PackSplit
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_PackAdded:
		e := pl.PackAdded
		kind = KindPackAdded
		if e.GetCounterpartyTeamId() != "" {
			kind = KindMoveIn
		}
		packID, tokens, price, currency = e.GetPackId(), e.GetTokens(), e.GetUnitPriceMicros(), e.GetCurrency()
		purchased = tsTime(e.GetPurchasedAt())
		expires = tsTime(e.GetExpiresAt())
		source, reason, counterparty = packSource(e.GetSource()), e.GetReason(), e.GetCounterpartyTeamId()
		available = e.GetPool().GetAvailable()
	case *v1.Event_TokensAdjusted:
		e := pl.TokensAdjusted
		switch e.GetKind() {
		case v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND:
			kind = KindRefund
		case v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT:
			kind = KindMoveOut
		default:
			kind = KindRemove
		}
		tokens, split, reason, counterparty = -e.GetTokens(), e.GetSplit(), e.GetReason(), e.GetCounterpartyTeamId()
		available = e.GetPool().GetAvailable()
	case *v1.Event_PackExpired:
		e := pl.PackExpired
		kind, packID, tokens, available = KindExpired, e.GetPackId(), -e.GetTokensLost(), e.GetPool().GetAvailable()
	case *v1.Event_PoolSuspended:
		e := pl.PoolSuspended
		kind, tokens, split, reason = KindMergedOut, -e.GetTokensMoved(), e.GetSplit(), e.GetReason()
		counterparty, available = e.GetMergedIntoTeamId(), e.GetPool().GetAvailable()
	default:
		return nil, false
	}
	ids, parts := splitOf(split)
	actor := ""
	if a := ev.GetActor(); a != nil {
		actor = a.GetKind() + ":" + a.GetId()
	}
	day := dayOf(at)
	return &record{seq: seq, day: day, values: []any{
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), day, at,
		kind, packID, tokens, price, currency, purchased, expires,
		source, reason, counterparty, available,
		ids, parts, actor,
	}}, true
}

func packSource(s v1.PackSource) string {
	if s == v1.PackSource_PACK_SOURCE_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "PACK_SOURCE_"))
}
