package server

import (
	"context"
	"sort"
	"strings"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// budgetsPerQuery bounds the budgets one spending query sums.
const budgetsPerQuery = 100

// liveBudget is a budget as the ledger holds it after folding its events.
type liveBudget struct {
	team    string
	created uint64 // LEDGER sequence of the set that (re)created it
	budget  *v1.Budget
	crossed map[string]uint64 // period start → sequence of the crossing
}

// foldBudgets replays budget events (in sequence order) the way the ledger
// does: a set creates or updates, a removal forgets the budget and what it
// had spent, a crossing is recorded against the period.
func foldBudgets(events []query.BudgetEvent) []*liveBudget {
	live := map[[2]string]*liveBudget{}
	for _, e := range events {
		k := [2]string{e.TeamID, e.BudgetID}
		switch e.Kind {
		case "deleted":
			delete(live, k)
		case "set":
			b := &v1.Budget{BudgetId: e.BudgetID, Key: e.Key, AttributeKey: e.AttributeKey, LimitTokens: e.LimitTokens, Hard: e.Hard == 1,
				Scope:  v1.BudgetScope(v1.BudgetScope_value["BUDGET_SCOPE_"+strings.ToUpper(e.Scope)]),
				Period: v1.BudgetPeriod(v1.BudgetPeriod_value["BUDGET_PERIOD_"+strings.ToUpper(e.Period)])}
			if l, ok := live[k]; ok {
				l.budget = b
			} else {
				live[k] = &liveBudget{team: e.TeamID, created: e.Seq, budget: b, crossed: map[string]uint64{}}
			}
		case "crossed":
			if l, ok := live[k]; ok {
				l.crossed[e.PeriodStart.Format(query.DateLayout)] = e.Seq
			}
		}
	}
	out := make([]*liveBudget, 0, len(live))
	for _, l := range live {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].team != out[j].team {
			return out[i].team < out[j].team
		}
		return out[i].budget.GetBudgetId() < out[j].budget.GetBudgetId()
	})
	return out
}

// periodStart is the first day of the UTC calendar period holding t (weeks
// start on Monday), as the ledger counts budgets.
func periodStart(p v1.BudgetPeriod, t time.Time) time.Time {
	day := dateOf(t)
	switch p {
	case v1.BudgetPeriod_BUDGET_PERIOD_WEEK:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case v1.BudgetPeriod_BUDGET_PERIOD_MONTH:
		return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	case v1.BudgetPeriod_BUDGET_PERIOD_YEAR:
		return time.Date(day.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// budgetUsage lists f's teams' budgets with what each spent in its current
// period: the charges after the budget was set whose window started in the
// period and that match its scope.
func (s *Server) budgetUsage(ctx context.Context, f query.Filter) ([]*v1.BudgetUsage, error) {
	events, err := s.reports.BudgetEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	budgets := foldBudgets(events)
	now := s.now()
	out := make([]*v1.BudgetUsage, 0, len(budgets))
	for lo := 0; lo < len(budgets); lo += budgetsPerQuery {
		chunk := budgets[lo:min(lo+budgetsPerQuery, len(budgets))]
		sel := make([]query.BudgetCharges, len(chunk))
		for i, l := range chunk {
			b := l.budget
			sel[i] = query.BudgetCharges{TeamID: l.team, AfterSeq: l.created, From: periodStart(b.GetPeriod(), now),
				Scope: strings.ToLower(strings.TrimPrefix(b.GetScope().String(), "BUDGET_SCOPE_")), Key: b.GetKey(), AttributeKey: b.GetAttributeKey()}
		}
		spent, err := s.reports.BudgetSpend(ctx, f, sel)
		if err != nil {
			return nil, err
		}
		for i, l := range chunk {
			start := sel[i].From.Format(query.DateLayout)
			u := &v1.BudgetUsage{TeamId: l.team, Budget: l.budget, PeriodStart: start}
			if i < len(spent) {
				u.Spent = spent[i]
			}
			if lim := l.budget.GetLimitTokens(); lim > 0 {
				u.Percent = round2(float64(u.Spent) * 100 / float64(lim))
			}
			_, u.Crossed = l.crossed[start]
			out = append(out, u)
		}
	}
	return out, nil
}
