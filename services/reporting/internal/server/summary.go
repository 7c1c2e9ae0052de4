package server

import (
	"context"
	"errors"
	"math"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

var errNoLedger = errors.New("no ledger configured")

// GetUsageSummary answers the token usage summary of the requested teams:
// tokens used in the range, tokens remaining (from the ledger), tokens added
// and removed in the last 7 days, tokens per day for the last 365 days,
// usage by product and product group for the range, and the teams' budgets
// with their spending in the current period.
func (s *Server) GetUsageSummary(ctx context.Context, req *v1.GetUsageSummaryRequest) (*v1.GetUsageSummaryResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	today := f.Today(s.now())
	resp := &v1.GetUsageSummaryResponse{FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout)}

	products, err := s.reports.ProductTotals(ctx, f, query.ProductScope{}, query.Order{})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	months := float64(f.Months())
	for _, p := range products {
		resp.TokensUsed += p.Tokens
		resp.ByProduct = append(resp.ByProduct, &v1.ProductUsage{
			ProductCode: p.Code, ProductGroup: p.Group, Tokens: p.Tokens, Users: int64(p.Users),
			Charges: int64(p.Charges), AverageTokensPerMonth: round2(float64(p.Tokens) / months),
		})
	}
	resp.ByGroup = groups(products)

	added, removed, err := s.reports.PoolMoves(ctx, f.WithRange(today.AddDate(0, 0, -6), today))
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp.TokensAddedLast_7Days, resp.TokensRemovedLast_7Days = added, removed

	days, err := s.reports.DailyTotals(ctx, f.WithRange(today.AddDate(0, 0, -364), today))
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	for _, d := range days {
		resp.UsedByDay = append(resp.UsedByDay, &v1.DayUsage{Day: d.Day.Format(query.DateLayout), Tokens: d.Tokens, Charges: int64(d.Charges)})
	}

	if resp.Budgets, err = s.budgetUsage(ctx, f); err != nil {
		return nil, s.toStatus(ctx, err)
	}

	resp.TokensRemainingKnown = true
	for _, team := range f.TeamIDs {
		b, err := s.balance(ctx, f.OrgID, team)
		if err != nil {
			// The report stands without it; the flag says the figure is missing.
			s.log.WarnContext(ctx, "tokens remaining unknown", "org", f.OrgID, "team", team, "err", err)
			resp.TokensRemainingKnown = false
			resp.TokensRemaining = 0
			resp.RemainingByTeam = nil
			break
		}
		resp.TokensRemaining += b.GetAvailable()
		resp.RemainingByTeam = append(resp.RemainingByTeam, &v1.TeamRemaining{TeamId: team, TokensRemaining: b.GetAvailable()})
	}
	return resp, nil
}

// balance asks the ledger for one team's balance.
func (s *Server) balance(ctx context.Context, org, team string) (*v1.Balance, error) {
	if s.balances == nil {
		return nil, errNoLedger
	}
	return s.balances.Balance(ctx, org, team)
}

// groups rolls products up into their groups (a product without one is its
// own group), largest first.
func groups(products []query.ProductTotal) []*v1.GroupUsage {
	var out []*v1.GroupUsage
	idx := map[string]*v1.GroupUsage{}
	for _, p := range products {
		name := p.Group
		if name == "" {
			name = p.Code
		}
		g, ok := idx[name]
		if !ok {
			g = &v1.GroupUsage{ProductGroup: name}
			idx[name] = g
			out = append(out, g)
		}
		g.Tokens += p.Tokens
		// Users of a group: at least the largest product's, at most the sum;
		// the exact figure would need another query, so report the largest.
		g.Users = max(g.Users, int64(p.Users))
		g.ProductCodes = append(g.ProductCodes, p.Code)
	}
	sortBy(out, func(a, b *v1.GroupUsage) bool {
		if a.Tokens != b.Tokens {
			return a.Tokens > b.Tokens
		}
		return a.ProductGroup < b.ProductGroup
	})
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
