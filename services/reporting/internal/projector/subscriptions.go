package projector

import (
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// SubscriptionEvents projects named subscriptions granted and revoked on the
// LEDGER stream, so reports know who holds one now (advice does not suggest
// moving a user already moved). A revocation of every product has no
// product codes.
var SubscriptionEvents = Projection{
	Table:  "subscription_events",
	Stream: eventlog.LedgerStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "user_id", "product_codes",
		"day", "at", "granted", "ends_at", "reason", "actor",
	},
	Map: subscriptionRow,
}

func subscriptionRow(seq uint64, ev *v1.Event) (Record, bool) {
	var (
		user, reason string
		products     []string
		granted      uint8
		ends         = zeroTime
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_SubscriptionGranted:
		e := pl.SubscriptionGranted
		user, products, reason, granted = e.GetUserId(), e.GetProductCodes(), e.GetReason(), 1
		if e.GetEndsAt() != nil {
			ends = e.GetEndsAt().AsTime().UTC().Truncate(time.Second)
		}
	case *v1.Event_SubscriptionRevoked:
		e := pl.SubscriptionRevoked
		user, products, reason = e.GetUserId(), e.GetProductCodes(), e.GetReason()
	default:
		return nil, false
	}
	if products == nil {
		products = []string{}
	}
	actor := ""
	if a := ev.GetActor(); a != nil {
		actor = a.GetKind() + ":" + a.GetId()
	}
	at := serverTime(ev)
	day := dayOf(at)
	return &record{seq: seq, day: day, values: []any{
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), user, products,
		day, at, granted, ends, reason, actor,
	}}, true
}
