package projector

import (
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Capacity event kinds in the capacity_events table.
const (
	CapacityKindSet      = "set"
	CapacityKindUsed     = "used"
	CapacityKindReturned = "returned"
)

// CapacityEvents projects capacity products set, used and returned on the
// LEDGER stream: the history behind seed 004's "view usage details".
var CapacityEvents = Projection{
	Table:  "capacity_events",
	Stream: eventlog.LedgerStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "product_code", "day", "at",
		"kind", "capacity_kind", "user_id", "checkout_id",
		"units", "total", "available_after", "ends_at", "actor",
	},
	Map: capacityRow,
}

func capacityRow(seq uint64, ev *v1.Event) (Record, bool) {
	var (
		kind, product, capKind, user, checkout string
		units                                  int64
		fig                                    *v1.CapacityFigures
		ends                                   = zeroTime
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_CapacitySet:
		e := pl.CapacitySet
		kind, product, units, fig, capKind = CapacityKindSet, e.GetProductCode(), e.GetUnits(), e.GetCapacity(), CapacityKindName(e.GetKind())
		if e.GetEndsAt() != nil {
			ends = e.GetEndsAt().AsTime().UTC().Truncate(time.Second)
		}
	case *v1.Event_CapacityUsed:
		e := pl.CapacityUsed
		kind, product, units, fig, user, checkout = CapacityKindUsed, e.GetProductCode(), e.GetUnits(), e.GetCapacity(), e.GetUserId(), e.GetCheckoutId()
		// A use names its month when exhaustible, its checkout when returnable.
		capKind = CapacityKindName(v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE)
		if checkout != "" {
			capKind = CapacityKindName(v1.CapacityKind_CAPACITY_KIND_RETURNABLE)
		}
	case *v1.Event_CapacityReturned:
		e := pl.CapacityReturned
		kind, product, units, fig, checkout = CapacityKindReturned, e.GetProductCode(), e.GetUnits(), e.GetCapacity(), e.GetCheckoutId()
		capKind = CapacityKindName(v1.CapacityKind_CAPACITY_KIND_RETURNABLE)
	default:
		return nil, false
	}
	actor := ""
	if a := ev.GetActor(); a != nil {
		actor = a.GetKind() + ":" + a.GetId()
	}
	at := serverTime(ev)
	day := dayOf(at)
	return &record{seq: seq, day: day, values: []any{
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), product, day, at,
		kind, capKind, user, checkout,
		units, fig.GetTotal(), fig.GetAvailable(), ends, actor,
	}}, true
}

// CapacityKindName is the kind's enum name without its prefix, lower case ("exhaustible").
func CapacityKindName(k v1.CapacityKind) string {
	if k == v1.CapacityKind_CAPACITY_KIND_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(k.String(), "CAPACITY_KIND_"))
}
