package projector

import (
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Assignments projects users assigned to and unassigned from teams.
var Assignments = Projection{
	Table:   "assignments_v2",
	Stream:  eventlog.LedgerStream,
	Columns: []string{"seq", "event_id", "org_id", "team_id", "user_id", "day", "at", "assigned", "product_codes"},
	Map: func(seq uint64, ev *v1.Event) (Record, bool) {
		var (
			user     string
			assigned uint8
			products = []string{}
		)
		switch pl := ev.GetPayload().(type) {
		case *v1.Event_UserAssigned:
			user, assigned = pl.UserAssigned.GetUserId(), 1
			products = append(products, pl.UserAssigned.GetProductCodes()...)
		case *v1.Event_UserUnassigned:
			user = pl.UserUnassigned.GetUserId()
		default:
			return nil, false
		}
		at := serverTime(ev)
		day := dayOf(at)
		return &record{seq: seq, day: day, values: []any{
			seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), user, day, at, assigned, products,
		}}, true
	},
}

// Products projects each organisation's catalog: names, groups and rates.
var Products = Projection{
	Table:   "products",
	Stream:  eventlog.LedgerStream,
	Columns: []string{"seq", "event_id", "org_id", "product_code", "name", "product_group", "daily_rate", "effective_from", "day"},
	Map: func(seq uint64, ev *v1.Event) (Record, bool) {
		e := ev.GetProductRateSet()
		if e == nil {
			return nil, false
		}
		at := serverTime(ev)
		from := at
		if e.GetEffectiveFrom() != nil {
			from = tsTime(e.GetEffectiveFrom())
		}
		day := dayOf(at)
		return &record{seq: seq, day: day, values: []any{
			seq, ev.GetEventId(), ev.GetOrgId(), e.GetProductCode(), e.GetName(), e.GetGroup(), e.GetDailyRate(), from, day,
		}}, true
	},
}
