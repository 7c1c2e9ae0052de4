package server

import (
	"context"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// GetSpend answers what the charges of a range cost in money: each charge's
// pack split at its packs' unit prices, per team, product, user or
// attribute value and currency (amounts in different currencies are never
// added), with what expired unused in the range and what is left now.
func (s *Server) GetSpend(ctx context.Context, req *v1.GetSpendRequest) (*v1.GetSpendResponse, error) {
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return nil, err
	}
	var chk query.Check
	group, ok := spendGroups[req.GetGroupBy()]
	switch {
	case !ok:
		chk.Invalid("group_by", "unknown grouping %d", int32(req.GetGroupBy()))
	case group == query.SpendByAttribute:
		chk.AttributeKey("attribute_key", req.GetAttributeKey())
	case req.GetAttributeKey() != "":
		chk.Invalid("attribute_key", "only with group_by ATTRIBUTE")
	}
	if err := chk.Err(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var (
		spent, expired []query.SpendAmount
		packs          []query.Pack
		g, gctx        = errgroup.WithContext(ctx)
	)
	g.Go(func() (err error) { spent, err = s.reports.Spend(gctx, f, group, req.GetAttributeKey()); return err })
	g.Go(func() (err error) { expired, err = s.reports.ExpiredValue(gctx, f); return err })
	g.Go(func() (err error) { packs, err = s.reports.Packs(gctx, f); return err })
	if err := g.Wait(); err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetSpendResponse{
		FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
		ExpiredUnused: moneyOf(expired), Remaining: remainingValue(packs),
	}
	show := s.privacy.Users(f.OrgID)
	var totals []query.SpendAmount
	for _, a := range spent {
		key := a.Key
		if group == query.SpendByUser {
			key = show(key)
		}
		resp.Rows = append(resp.Rows, &v1.SpendRow{Key: key, Currency: a.Currency, AmountMicros: a.AmountMicros, Tokens: a.Tokens, Charges: int64(a.Charges)})
		totals = addAmount(totals, query.SpendAmount{Currency: a.Currency, AmountMicros: a.AmountMicros, Tokens: a.Tokens})
	}
	resp.TotalSpent = moneyOf(totals)
	return resp, nil
}

var spendGroups = map[v1.SpendGrouping]query.SpendGroup{
	v1.SpendGrouping_SPEND_GROUPING_UNSPECIFIED: query.SpendByTeam,
	v1.SpendGrouping_SPEND_GROUPING_TEAM:        query.SpendByTeam,
	v1.SpendGrouping_SPEND_GROUPING_PRODUCT:     query.SpendByProduct,
	v1.SpendGrouping_SPEND_GROUPING_USER:        query.SpendByUser,
	v1.SpendGrouping_SPEND_GROUPING_ATTRIBUTE:   query.SpendByAttribute,
}

// remainingValue is what is left in packs at their prices, per currency.
func remainingValue(packs []query.Pack) []*v1.Money {
	var out []query.SpendAmount
	for _, p := range packs {
		if left := p.Remaining(); left > 0 {
			out = addAmount(out, query.SpendAmount{Currency: p.Currency, AmountMicros: left * p.UnitPriceMicros, Tokens: left})
		}
	}
	return moneyOf(out)
}

// addAmount adds a to the entry of its currency in sums.
func addAmount(sums []query.SpendAmount, a query.SpendAmount) []query.SpendAmount {
	for i := range sums {
		if sums[i].Currency == a.Currency {
			sums[i].AmountMicros += a.AmountMicros
			sums[i].Tokens += a.Tokens
			return sums
		}
	}
	return append(sums, a)
}

// moneyOf is amounts per currency, in currency order.
func moneyOf(amounts []query.SpendAmount) []*v1.Money {
	out := make([]*v1.Money, 0, len(amounts))
	for _, a := range amounts {
		out = append(out, &v1.Money{Currency: a.Currency, AmountMicros: a.AmountMicros, Tokens: a.Tokens})
	}
	slices.SortFunc(out, func(a, b *v1.Money) int { return strings.Compare(a.Currency, b.Currency) })
	return out
}
