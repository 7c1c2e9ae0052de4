package server

import (
	"context"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/advice"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// AdviseLicensing compares, per user and product, the last 12 complete
// months on tokens with the product's named subscription (prices from
// configuration), lists the users to move with the yearly saving, and the
// assigned users idle long enough to unassign. Users who hold a product's
// subscription now are not advised on it.
func (s *Server) AdviseLicensing(ctx context.Context, req *v1.AdviseLicensingRequest) (*v1.AdviseLicensingResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), nil)
	if err != nil {
		return nil, err
	}
	today := f.Today(s.now())
	thisMonth := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	first := thisMonth.AddDate(-1, 0, 0)
	monthly, err := s.reports.MonthlyUse(ctx, f.WithRange(first, thisMonth.AddDate(0, 0, -1)))
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	assignees, err := s.reports.Assignees(ctx, f)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	subscribed, err := s.reports.Subscriptions(ctx, f, s.now())
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	usage := usageByYear(monthly, first, subscribed)
	idle := idleAssignees(assignees, today.AddDate(0, 0, -s.idleDays), usage)
	r := advice.Advise(s.advice, usage, idle)
	show := s.privacy.Users(f.OrgID)
	resp := &v1.AdviseLicensingResponse{
		TotalYearlySaving: r.TotalSaving, UsersToMove: r.UsersToMove, UsersToUnassign: r.UsersToUnassign,
		TokenPrice: s.advice.TokenPrice, Currency: s.advice.Currency, Pseudonymous: !s.privacy.ShowsPersonalData(f.OrgID),
	}
	for _, a := range r.Advice {
		resp.Advice = append(resp.Advice, &v1.LicensingAdvice{
			UserId: show(a.UserID), ProductCode: a.ProductCode, TeamId: a.TeamID,
			DaysUsedLastYear: a.Days, DaysByMonth: a.DaysByMonth, AverageDaysPerMonth: a.AveragePerMonth,
			TokensLastYear: a.Tokens, YearlyTokenCost: a.TokenCost, YearlySubscriptionCost: a.SubscriptionCost,
			SubscriptionName: a.SubscriptionName, YearlySaving: a.Saving, Recommendation: a.Reason,
			Action: action(a.Action), Currency: s.advice.Currency, LastUsed: a.LastUsed,
		})
	}
	return resp, nil
}

// usageByYear folds monthly use from first on into a year per team, user and
// product, marking those whose subscription the user holds now.
func usageByYear(monthly []query.MonthUse, first time.Time, subscribed []query.Subscribed) []advice.Usage {
	holds := map[[3]string]bool{}
	for _, h := range subscribed {
		holds[[3]string{h.TeamID, h.UserID, h.Product}] = true
	}
	var usage []advice.Usage
	idx := map[[3]string]int{}
	for _, m := range monthly {
		k := [3]string{m.TeamID, m.UserID, m.Code}
		i, ok := idx[k]
		if !ok {
			i = len(usage)
			idx[k] = i
			usage = append(usage, advice.Usage{TeamID: m.TeamID, UserID: m.UserID, ProductCode: m.Code,
				DaysByMonth: make([]int64, 12), Subscribed: holds[k]})
		}
		n := (m.Month.Year()-first.Year())*12 + int(m.Month.Month()-first.Month())
		if n >= 0 && n < 12 {
			usage[i].DaysByMonth[n] += int64(m.Days)
			usage[i].Tokens += m.Tokens
		}
	}
	return usage
}

// idleAssignees returns the assignees without a charge or an assignment
// since idleSince, and sets each usage's last day of use.
func idleAssignees(assignees []query.Assignee, idleSince time.Time, usage []advice.Usage) []advice.Idle {
	var idle []advice.Idle
	lastByUser := map[[2]string]time.Time{}
	for _, a := range assignees {
		lastByUser[[2]string{a.TeamID, a.UserID}] = a.LastDay
		if a.LastDay.Before(idleSince) && a.AssignedAt.Before(idleSince) {
			idle = append(idle, advice.Idle{TeamID: a.TeamID, UserID: a.UserID, LastUsed: dateString(a.LastDay)})
		}
	}
	for i := range usage {
		usage[i].LastUsed = dateString(lastByUser[[2]string{usage[i].TeamID, usage[i].UserID}])
	}
	return idle
}

func action(a advice.Action) v1.Recommendation {
	switch a {
	case advice.MoveToSubscription:
		return v1.Recommendation_RECOMMENDATION_MOVE_TO_SUBSCRIPTION
	case advice.Unassign:
		return v1.Recommendation_RECOMMENDATION_UNASSIGN
	case advice.KeepOnTokens:
		return v1.Recommendation_RECOMMENDATION_KEEP_ON_TOKENS
	default:
		return v1.Recommendation_RECOMMENDATION_UNSPECIFIED
	}
}

func dateString(t time.Time) string {
	if t.IsZero() || t.Year() <= 1970 {
		return ""
	}
	return t.Format(query.DateLayout)
}
