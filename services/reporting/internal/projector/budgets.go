package projector

import (
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Budget event kinds in the budget_events table.
const (
	BudgetKindSet     = "set"
	BudgetKindDeleted = "deleted"
	BudgetKindCrossed = "crossed"
)

// BudgetEvents projects budgets set, removed and crossed on the LEDGER stream.
var BudgetEvents = Projection{
	Table:  "budget_events_v2",
	Stream: eventlog.LedgerStream,
	Columns: []string{
		"seq", "event_id", "org_id", "team_id", "day", "at", "kind",
		"budget_id", "scope", "key", "attribute_key", "limit_tokens", "period", "hard",
		"period_start", "spent", "user_id", "product_code", "actor",
	},
	Map: budgetRow,
}

func budgetRow(seq uint64, ev *v1.Event) (Record, bool) {
	var (
		kind, id, scope, key, attrKey, period, user, product string
		limit, spent                                         int64
		hard                                                 uint8
		periodStart                                          = zeroTime
	)
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_BudgetSet:
		b := pl.BudgetSet.GetBudget()
		kind = BudgetKindSet
		if b.GetDeleted() {
			kind = BudgetKindDeleted
		}
		id, key, attrKey, limit = b.GetBudgetId(), b.GetKey(), b.GetAttributeKey(), b.GetLimitTokens()
		scope, period, hard = BudgetScopeName(b.GetScope()), BudgetPeriodName(b.GetPeriod()), boolByte(b.GetHard())
	case *v1.Event_BudgetCrossed:
		e := pl.BudgetCrossed
		kind, id, limit, spent, hard = BudgetKindCrossed, e.GetBudgetId(), e.GetLimitTokens(), e.GetSpent(), boolByte(e.GetHard())
		user, product = e.GetUserId(), e.GetProductCode()
		if d, err := time.Parse(time.DateOnly, e.GetPeriodStart()); err == nil {
			periodStart = d
		}
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
		seq, ev.GetEventId(), ev.GetOrgId(), ev.GetTeamId(), day, at, kind,
		id, scope, key, attrKey, limit, period, hard,
		periodStart, spent, user, product, actor,
	}}, true
}

// BudgetScopeName is the scope's enum name without its prefix, lower case ("user").
func BudgetScopeName(s v1.BudgetScope) string {
	if s == v1.BudgetScope_BUDGET_SCOPE_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "BUDGET_SCOPE_"))
}

// BudgetPeriodName is the period's enum name without its prefix, lower case ("month").
func BudgetPeriodName(p v1.BudgetPeriod) string {
	if p == v1.BudgetPeriod_BUDGET_PERIOD_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(p.String(), "BUDGET_PERIOD_"))
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
