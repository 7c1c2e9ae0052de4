package rules

import (
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// budgetCrossed raises budget_crossed for each BudgetCrossed the ledger
// writes: it writes one per budget and period (a soft cap crossed, or a
// launch refused by a hard one), so the crossing is the ledger's.
func budgetCrossed(f *fold) []*v1.Alert {
	b := f.budget
	if b == nil || !f.cfg.BudgetCrossed.Enabled {
		return nil
	}
	sev, what := v1.Severity_SEVERITY_WARNING, "crossed its soft cap"
	if b.GetHard() {
		sev, what = v1.Severity_SEVERITY_CRITICAL, "refused a launch at its hard cap"
	}
	scope := ""
	if b.GetUserId() != "" {
		scope += " for " + b.GetUserId()
	}
	if b.GetProductCode() != "" {
		scope += " on " + b.GetProductCode()
	}
	msg := fmt.Sprintf("Budget %s of team %s%s %s: %d of %d tokens spent in the period from %s",
		b.GetBudgetId(), f.raise.team, scope, what, b.GetSpent(), b.GetLimitTokens(), b.GetPeriodStart())
	hard := 0.0
	if b.GetHard() {
		hard = 1
	}
	return []*v1.Alert{f.alert(KindBudgetCrossed, sev, msg, map[string]float64{
		"spent":        float64(b.GetSpent()),
		"limit_tokens": float64(b.GetLimitTokens()),
		"percent":      percent(b.GetSpent(), b.GetLimitTokens()),
		"hard":         hard,
	}, b.GetBudgetId(), b.GetPeriodStart())}
}
