package pool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (h *harness) budget(b *v1.Budget) {
	h.t.Helper()
	ev, err := h.p.DecideSetBudget(h.id(), b, t0.Add(-time.Hour), nil)
	require.NoError(h.t, err)
	h.apply(ev)
}

func TestPeriodStart(t *testing.T) {
	wed := time.Date(2026, 11, 25, 15, 4, 0, 0, time.UTC)
	require.Equal(t, "2026-11-25", PeriodStart(v1.BudgetPeriod_BUDGET_PERIOD_DAY, wed).Format(time.DateOnly))
	require.Equal(t, "2026-11-23", PeriodStart(v1.BudgetPeriod_BUDGET_PERIOD_WEEK, wed).Format(time.DateOnly), "weeks start on Monday")
	require.Equal(t, "2026-11-01", PeriodStart(v1.BudgetPeriod_BUDGET_PERIOD_MONTH, wed).Format(time.DateOnly))
	require.Equal(t, "2026-01-01", PeriodStart(v1.BudgetPeriod_BUDGET_PERIOD_YEAR, wed).Format(time.DateOnly))
	sunday := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)
	require.Equal(t, "2026-11-23", PeriodStart(v1.BudgetPeriod_BUDGET_PERIOD_WEEK, sunday).Format(time.DateOnly))
}

func TestHardBudgetRefuses(t *testing.T) {
	h := newHarness(t)
	h.assign("bob", "*")
	h.pack("p", 1000, t0, t0.AddDate(1, 0, 0))
	h.budget(&v1.Budget{BudgetId: "ann-month", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann",
		LimitTokens: 17, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH, Hard: true})
	require.EqualValues(t, 10, h.launch("ann", "REVIT", t0).Tokens)
	require.EqualValues(t, 7, h.launch("ann", "ACAD", t0).Tokens, "exactly at the cap is allowed")
	o := h.launch("ann", "FUSION", t0)
	require.Equal(t, v1.DenyReason_DENY_REASON_BUDGET_EXCEEDED, o.DenyReason)
	require.EqualValues(t, 10, h.launch("bob", "REVIT", t0).Tokens, "another user is not capped")
	require.EqualValues(t, 2, h.launch("ann", "FUSION", t0.AddDate(0, 1, 0)).Tokens, "a new month, a new budget")
}

func TestSoftBudgetOnlyRecordsTheCrossing(t *testing.T) {
	h := newHarness(t)
	h.assign("bob", "*")
	h.pack("p", 1000, t0, t0.AddDate(1, 0, 0))
	h.budget(&v1.Budget{BudgetId: "proj", Scope: v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE, AttributeKey: "project", Key: "P-1",
		LimitTokens: 15, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY})
	launch := func(user, product string) Outcome {
		o, ev := h.p.DecideLaunch(Launch{EventID: h.id(), User: user, Product: product, At: t0, Attributes: map[string]string{"project": "P-1"}}, h.cat)
		h.apply(ev)
		return o
	}
	launch("ann", "REVIT")
	require.Empty(t, h.p.DueBudgetCrossings(t0))
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, launch("bob", "REVIT").Decision, "a soft cap never refuses")
	due := h.p.DueBudgetCrossings(t0)
	require.Len(t, due, 1)
	require.EqualValues(t, 20, due[0].GetBudgetCrossed().GetSpent())
	h.apply(due[0])
	require.Empty(t, h.p.DueBudgetCrossings(t0), "once per period")
}
