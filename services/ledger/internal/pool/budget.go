package pool

import (
	"errors"
	"fmt"
	"sort"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// budgetState is a budget and what was spent against it, per period.
type budgetState struct {
	b       *v1.Budget
	spent   map[string]int64 // period start (YYYY-MM-DD) → tokens
	crossed map[string]bool  // periods whose crossing is recorded
}

// PeriodStart returns the first day of the UTC calendar period holding t
// (weeks start on Monday).
func PeriodStart(period v1.BudgetPeriod, t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case v1.BudgetPeriod_BUDGET_PERIOD_WEEK:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case v1.BudgetPeriod_BUDGET_PERIOD_MONTH:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case v1.BudgetPeriod_BUDGET_PERIOD_YEAR:
		return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

func periodKey(b *v1.Budget, t time.Time) string {
	return PeriodStart(b.GetPeriod(), t).Format(time.DateOnly)
}

// matches reports whether a charge of product (in group, with attributes) by
// user counts against b: a user group's budget counts its members' charges
// made while they belong to it.
func (p *Pool) matches(b *v1.Budget, user, group string, attrs map[string]string) bool {
	switch b.GetScope() {
	case v1.BudgetScope_BUDGET_SCOPE_USER_GROUP:
		return p.isMember(user, b.GetKey())
	case v1.BudgetScope_BUDGET_SCOPE_USER:
		return b.GetKey() == user
	case v1.BudgetScope_BUDGET_SCOPE_GROUP:
		return b.GetKey() == group
	case v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE:
		v, ok := attrs[b.GetAttributeKey()]
		return ok && v == b.GetKey()
	}
	return false
}

func (p *Pool) setBudget(b *v1.Budget) {
	if b.GetDeleted() {
		delete(p.budgets, b.GetBudgetId())
		return
	}
	if st, ok := p.budgets[b.GetBudgetId()]; ok {
		st.b = b
		return
	}
	p.budgets[b.GetBudgetId()] = &budgetState{b: b, spent: map[string]int64{}, crossed: map[string]bool{}}
}

// spend folds a charge into every budget it counts against.
func (p *Pool) spend(e *v1.WindowCharged, start time.Time) {
	for _, st := range p.budgets {
		if p.matches(st.b, e.GetUserId(), e.GetProductGroup(), e.GetAttributes()) {
			st.spent[periodKey(st.b, start)] += e.GetTokens()
		}
	}
}

func (p *Pool) budgetCrossed(e *v1.BudgetCrossed) {
	if st, ok := p.budgets[e.GetBudgetId()]; ok {
		st.crossed[e.GetPeriodStart()] = true
	}
}

// hardCapRefusal returns the id of a hard budget that a charge of tokens
// would take over its limit, or "".
func (p *Pool) hardCapRefusal(user, group string, attrs map[string]string, tokens int64, at time.Time) string {
	for _, id := range p.budgetIDs() {
		st := p.budgets[id]
		if !st.b.GetHard() || !p.matches(st.b, user, group, attrs) {
			continue
		}
		if st.spent[periodKey(st.b, at)]+tokens > st.b.GetLimitTokens() {
			return id
		}
	}
	return ""
}

func (p *Pool) budgetIDs() []string {
	ids := make([]string, 0, len(p.budgets))
	for id := range p.budgets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// DueBudgetCrossings returns a BudgetCrossed event for every budget whose
// spending in the period of at has reached its limit and is not recorded yet.
// Like expiries they are consequences of folded state: any replica proposes
// the same ids, and one lost in a crash is proposed again by the next decision.
func (p *Pool) DueBudgetCrossings(at time.Time) []*v1.Event {
	var out []*v1.Event
	for _, id := range p.budgetIDs() {
		st := p.budgets[id]
		key := periodKey(st.b, at)
		spent := st.spent[key]
		if st.crossed[key] || spent < st.b.GetLimitTokens() {
			continue
		}
		ev := p.envelope(fmt.Sprintf("budget-%s-%s-%s", p.Team, id, key), at, &v1.Actor{Kind: "system", Id: "ledger"})
		ev.Payload = &v1.Event_BudgetCrossed{BudgetCrossed: &v1.BudgetCrossed{
			BudgetId: id, PeriodStart: key, Spent: spent, LimitTokens: st.b.GetLimitTokens(), Hard: st.b.GetHard(),
		}}
		out = append(out, ev)
	}
	return out
}

// CheckBudget returns the FieldErrors of a budget no pool could accept;
// fields are named as in SetBudgetRequest ("budget.…"). The edge checks the
// budget id's form.
func CheckBudget(b *v1.Budget) error {
	if b.GetBudgetId() == "" {
		return invalid("budget.budget_id", "is required")
	}
	if b.GetDeleted() {
		return nil
	}
	var errs []error
	if _, ok := v1.BudgetScope_name[int32(b.GetScope())]; !ok || b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_UNSPECIFIED {
		errs = append(errs, invalid("budget.scope", "is required (user, group, attribute or user group)"))
	}
	if b.GetKey() == "" || len(b.GetKey()) > MaxKeyLen {
		errs = append(errs, invalid("budget.key", "is required, at most %d characters", MaxKeyLen))
	}
	if b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE && (b.GetAttributeKey() == "" || len(b.GetAttributeKey()) > MaxKeyLen) {
		errs = append(errs, invalid("budget.attribute_key", "is required for an attribute budget, at most %d characters", MaxKeyLen))
	}
	errs = append(errs, CheckRange("budget.limit_tokens", b.GetLimitTokens(), 1, MaxBudgetTokens))
	if _, ok := v1.BudgetPeriod_name[int32(b.GetPeriod())]; !ok || b.GetPeriod() == v1.BudgetPeriod_BUDGET_PERIOD_UNSPECIFIED {
		errs = append(errs, invalid("budget.period", "is required (day, week, month or year)"))
	}
	return errors.Join(errs...)
}

// DecideSetBudget validates a budget and returns its BudgetSet event.
func (p *Pool) DecideSetBudget(eventID string, b *v1.Budget, at time.Time, actor *v1.Actor) (*v1.Event, error) {
	if err := CheckBudget(b); err != nil {
		return nil, err
	}
	if _, ok := p.budgets[b.GetBudgetId()]; b.GetDeleted() && !ok {
		return nil, fmt.Errorf("budget %s: %w", b.GetBudgetId(), ErrNotFound)
	}
	if _, ok := p.groups[b.GetKey()]; !b.GetDeleted() && b.GetScope() == v1.BudgetScope_BUDGET_SCOPE_USER_GROUP && !ok {
		return nil, fmt.Errorf("user group %s: %w", b.GetKey(), ErrNotFound)
	}
	ev := p.envelope(eventID, at, actor)
	ev.Payload = &v1.Event_BudgetSet{BudgetSet: &v1.BudgetSet{Budget: b}}
	return ev, nil
}

// BudgetSpend is a budget with what was spent in the period holding a time.
type BudgetSpend struct {
	Budget *v1.Budget
	Spent  int64
}

// Budgets lists the budgets by id with their spending in the period of at.
func (p *Pool) Budgets(at time.Time) []BudgetSpend {
	var out []BudgetSpend
	for _, id := range p.budgetIDs() {
		st := p.budgets[id]
		out = append(out, BudgetSpend{Budget: st.b, Spent: st.spent[periodKey(st.b, at)]})
	}
	return out
}
