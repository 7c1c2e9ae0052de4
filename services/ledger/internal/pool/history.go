package pool

import (
	"fmt"
	"strings"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// HistoryTypes names every event type of a pool's history (its own subject
// and its organisation's catalog), as Transaction.type spells it.
var HistoryTypes = []string{
	"pack_added", "window_charged", "tokens_adjusted", "pack_expired", "pool_suspended",
	"launch_denied", "launch_covered", "user_assigned", "user_unassigned",
	"budget_set", "budget_crossed", "capacity_set", "capacity_used", "capacity_returned",
	"product_rate_set", "personal_data_set", "user_erased", "time_zone_set",
	"subscription_granted", "subscription_revoked", "launch_subscribed",
	"user_group_set", "user_group_members_changed", "user_group_deleted",
}

// IsHistoryType reports whether name is one of HistoryTypes.
func IsHistoryType(name string) bool {
	for _, t := range HistoryTypes {
		if t == name {
			return true
		}
	}
	return false
}

// Transaction flattens one event of a pool's history for listing: its
// signed tokens (0 for an event that moves none), who and what it concerns,
// and in words what a non-money event changed. ok is false for an event that
// is not part of a pool's history. Sequence is left for the caller to set.
func Transaction(ev *v1.Event) (tx *v1.Transaction, ok bool) {
	tx = &v1.Transaction{EventId: ev.GetEventId(), At: ev.GetServerTime(), Actor: actorName(ev.GetActor())}
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_PackAdded:
		e := pl.PackAdded
		tx.Type, tx.Tokens, tx.PackId, tx.Reason = "pack_added", e.GetTokens(), e.GetPackId(), e.GetReason()
		tx.AvailableAfter, tx.CounterpartyTeamId = e.GetPool().GetAvailable(), e.GetCounterpartyTeamId()
	case *v1.Event_WindowCharged:
		e := pl.WindowCharged
		tx.Type, tx.Tokens, tx.UserId, tx.ProductCode = "window_charged", -e.GetTokens(), e.GetUserId(), e.GetProductCode()
		tx.AvailableAfter = e.GetPool().GetAvailable()
	case *v1.Event_TokensAdjusted:
		e := pl.TokensAdjusted
		tx.Type, tx.Tokens, tx.Reason = "tokens_adjusted", -e.GetTokens(), e.GetReason()
		tx.AvailableAfter, tx.CounterpartyTeamId = e.GetPool().GetAvailable(), e.GetCounterpartyTeamId()
	case *v1.Event_PackExpired:
		e := pl.PackExpired
		tx.Type, tx.Tokens, tx.PackId, tx.AvailableAfter = "pack_expired", -e.GetTokensLost(), e.GetPackId(), e.GetPool().GetAvailable()
	case *v1.Event_PoolSuspended:
		e := pl.PoolSuspended
		tx.Type, tx.Tokens, tx.Reason = "pool_suspended", -e.GetTokensMoved(), e.GetReason()
		tx.AvailableAfter, tx.CounterpartyTeamId = e.GetPool().GetAvailable(), e.GetMergedIntoTeamId()
		tx.Detail = "suspended: takes no more charges"
		if into := e.GetMergedIntoTeamId(); into != "" {
			tx.Detail = "merged into " + into + " and suspended"
		}
	default:
		return describe(ev, tx)
	}
	return tx, true
}

// describe fills the events that move no tokens: launches not charged,
// assignments, budgets, capacity and rates.
func describe(ev *v1.Event, tx *v1.Transaction) (*v1.Transaction, bool) {
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_LaunchDenied:
		e := pl.LaunchDenied
		tx.Type, tx.UserId, tx.ProductCode, tx.AvailableAfter = "launch_denied", e.GetUserId(), e.GetProductCode(), e.GetPool().GetAvailable()
		tx.Detail = deniedDetail(e)
	case *v1.Event_LaunchCovered:
		e := pl.LaunchCovered
		tx.Type, tx.UserId, tx.ProductCode = "launch_covered", e.GetUserId(), e.GetProductCode()
		tx.Detail = "covered by the open window until " + stamp(e.GetWindowEnd().AsTime())
	case *v1.Event_UserAssigned:
		e := pl.UserAssigned
		tx.Type, tx.UserId = "user_assigned", e.GetUserId()
		tx.Detail = "assigned to " + productsText(e.GetProductCodes())
	case *v1.Event_UserUnassigned:
		tx.Type, tx.UserId, tx.Detail = "user_unassigned", pl.UserUnassigned.GetUserId(), "unassigned from every product"
	case *v1.Event_BudgetSet:
		tx.Type, tx.Detail = "budget_set", budgetText(pl.BudgetSet.GetBudget())
	case *v1.Event_BudgetCrossed:
		e := pl.BudgetCrossed
		tx.Type, tx.UserId, tx.ProductCode = "budget_crossed", e.GetUserId(), e.GetProductCode()
		tx.Detail = fmt.Sprintf("budget %s reached: %d of %d tokens spent in the period from %s", e.GetBudgetId(), e.GetSpent(), e.GetLimitTokens(), e.GetPeriodStart())
	case *v1.Event_ProductRateSet:
		e := pl.ProductRateSet
		tx.Type, tx.ProductCode = "product_rate_set", e.GetProductCode()
		tx.Detail = fmt.Sprintf("daily rate %d tokens from %s (name %q, group %q)", e.GetDailyRate(), stamp(e.GetEffectiveFrom().AsTime()), e.GetName(), e.GetGroup())
	case *v1.Event_PersonalDataSet:
		tx.Type, tx.Reason, tx.Detail = "personal_data_set", pl.PersonalDataSet.GetReason(), "people shown as keyed pseudonyms"
		if pl.PersonalDataSet.GetShow() {
			tx.Detail = "people shown as they are (user ids, devices, event ids, personal attributes)"
		}
	case *v1.Event_UserErased:
		tx.Type, tx.UserId, tx.Reason = "user_erased", pl.UserErased.GetUserId(), pl.UserErased.GetReason()
		tx.Detail = "personal data erased: profile key deleted, user shown by pseudonym only"
	case *v1.Event_TimeZoneSet:
		tx.Type, tx.Detail = "time_zone_set", "report days are dates in "+pl.TimeZoneSet.GetZone()
	default:
		return describeCapacity(ev, tx)
	}
	return tx, true
}

func describeCapacity(ev *v1.Event, tx *v1.Transaction) (*v1.Transaction, bool) {
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_CapacitySet:
		e := pl.CapacitySet
		tx.Type, tx.ProductCode = "capacity_set", e.GetProductCode()
		tx.Detail = fmt.Sprintf("%d %s units", e.GetUnits(), kindText(e.GetKind()))
		if e.GetEndsAt() != nil {
			tx.Detail += ", term ends " + stamp(e.GetEndsAt().AsTime())
		}
		if e.GetUnits() == 0 {
			tx.Detail = "capacity product removed"
		}
	case *v1.Event_CapacityUsed:
		e := pl.CapacityUsed
		tx.Type, tx.ProductCode, tx.UserId = "capacity_used", e.GetProductCode(), e.GetUserId()
		tx.Detail = fmt.Sprintf("%d units used, %d of %d left", e.GetUnits(), e.GetCapacity().GetAvailable(), e.GetCapacity().GetTotal())
		if id := e.GetCheckoutId(); id != "" {
			tx.Detail += " (checkout " + id + ")"
		}
	case *v1.Event_CapacityReturned:
		e := pl.CapacityReturned
		tx.Type, tx.ProductCode = "capacity_returned", e.GetProductCode()
		tx.Detail = fmt.Sprintf("%d units returned (checkout %s), %d of %d left", e.GetUnits(), e.GetCheckoutId(), e.GetCapacity().GetAvailable(), e.GetCapacity().GetTotal())
	default:
		return describeSubscription(ev, tx)
	}
	return tx, true
}

func actorName(a *v1.Actor) string {
	if a.GetKind() == "" && a.GetId() == "" {
		return ""
	}
	return a.GetKind() + ":" + a.GetId()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func deniedDetail(e *v1.LaunchDenied) string {
	s := "refused: " + reasonText(e.GetReason())
	if r := e.GetReason(); e.GetTokensRequired() > 0 && (r == v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS || r == v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED) {
		s += fmt.Sprintf(" (%d tokens needed)", e.GetTokensRequired())
	}
	if e.GetBudgetId() != "" {
		s += ", budget " + e.GetBudgetId()
	}
	if e.GetRenewal() {
		s += ", at the renewal of an open session"
	}
	return s
}

func productsText(codes []string) string {
	if len(codes) == 0 {
		return "no product"
	}
	if len(codes) == 1 && codes[0] == "*" {
		return "every product"
	}
	return strings.Join(codes, ", ")
}

func budgetText(b *v1.Budget) string {
	if b.GetDeleted() {
		return "budget " + b.GetBudgetId() + " removed"
	}
	scope := strings.ToLower(strings.TrimPrefix(b.GetScope().String(), "BUDGET_SCOPE_"))
	if b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE {
		scope += " " + b.GetAttributeKey()
	}
	strength := "soft"
	if b.GetHard() {
		strength = "hard"
	}
	period := strings.ToLower(strings.TrimPrefix(b.GetPeriod().String(), "BUDGET_PERIOD_"))
	return fmt.Sprintf("budget %s: %s %s, %d tokens a %s, %s cap", b.GetBudgetId(), scope, b.GetKey(), b.GetLimitTokens(), period, strength)
}

func kindText(k v1.CapacityKind) string {
	return strings.ToLower(strings.TrimPrefix(k.String(), "CAPACITY_KIND_"))
}
