package server

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// GetSubscriptionUsage shows the launches named subscriptions authorized
// apart from token use: per team, user and product, with the range's
// launches by subscription beside the launches and tokens on the pool.
func (s *Server) GetSubscriptionUsage(ctx context.Context, req *v1.GetSubscriptionUsageRequest) (*v1.GetSubscriptionUsageResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	var (
		uses    []query.SubscriptionUse
		totals  query.UseTotals
		g, gctx = errgroup.WithContext(ctx)
	)
	g.Go(func() (err error) { uses, err = s.reports.SubscriptionUses(gctx, f); return err })
	g.Go(func() (err error) { totals, err = s.reports.UseTotals(gctx, f); return err })
	if err := g.Wait(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetSubscriptionUsageResponse{
		FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
		SubscriptionLaunches: int64(totals.SubscriptionLaunches), TokenLaunches: int64(totals.TokenLaunches),
		TokensCharged: totals.TokensCharged,
	}
	show := s.privacy.Users(f.OrgID)
	for _, u := range uses {
		resp.Rows = append(resp.Rows, &v1.SubscriptionUse{
			TeamId: u.TeamID, UserId: show(u.UserID), ProductCode: u.Product,
			Launches: int64(u.Launches), DaysUsed: int64(u.Days), LastUsed: u.LastDay.Format(query.DateLayout),
		})
	}
	// Ties were broken by the hidden ids: break them by the ids shown.
	slices.SortStableFunc(resp.Rows, func(a, b *v1.SubscriptionUse) int {
		return cmp.Or(cmp.Compare(b.DaysUsed, a.DaysUsed), cmp.Compare(b.Launches, a.Launches),
			strings.Compare(a.TeamId, b.TeamId), strings.Compare(a.UserId, b.UserId), strings.Compare(a.ProductCode, b.ProductCode))
	})
	return resp, nil
}
