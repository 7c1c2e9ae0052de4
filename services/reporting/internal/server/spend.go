package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
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
	var bad grpcserver.Violations
	page := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "spend", f.OrgID,
		strings.Join(f.TeamIDs, ","), f.From.Format(query.DateLayout), f.To.Format(query.DateLayout), s.zone(f.OrgID).String(),
		strconv.Itoa(int(group)), req.GetAttributeKey())
	if err := bad.Err(); err != nil {
		return nil, err
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
	remaining, err := remainingValue(packs)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &v1.GetSpendResponse{
		FromDate: f.From.Format(query.DateLayout), ToDate: f.To.Format(query.DateLayout),
		ExpiredUnused: moneyOf(expired), Remaining: remaining,
	}
	rows, total, err := s.spendRows(f, group, spent)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp.TotalSpent = total
	resp.Rows, resp.NextPageToken = pageSpend(page, rows)
	return resp, nil
}

// pageSpend is one page of rows. The rows' order (currency, amount, key)
// has no short unique key, so a page token holds the position of the
// page's last row, bound to the request: a charge projected between two
// pages may move a row across their boundary.
func pageSpend(page grpcserver.Page, rows []*v1.SpendRow) ([]*v1.SpendRow, string) {
	type at struct {
		i   int
		row *v1.SpendRow
	}
	numbered := make([]at, len(rows))
	for i, r := range rows {
		numbered[i] = at{i, r}
	}
	shown, next := grpcserver.PageSlice(page, numbered, func(a at) string { return fmt.Sprintf("%012d", a.i) })
	out := make([]*v1.SpendRow, len(shown))
	for i, a := range shown {
		out[i] = a.row
	}
	return out, next
}

// spendRows are the rows of spent, users shown as the organisation sees
// them, and the total per currency.
func (s *Server) spendRows(f query.Filter, group query.SpendGroup, spent []query.SpendAmount) ([]*v1.SpendRow, []*v1.Money, error) {
	show := s.privacy.Users(f.OrgID)
	var (
		rows   []*v1.SpendRow
		totals []query.SpendAmount
		err    error
	)
	for _, a := range spent {
		key := a.Key
		if group == query.SpendByUser {
			key = show(key)
		}
		rows = append(rows, &v1.SpendRow{Key: key, Currency: a.Currency, AmountMicros: a.AmountMicros, Tokens: a.Tokens, Charges: int64(a.Charges)})
		if totals, err = addAmount(totals, query.SpendAmount{Currency: a.Currency, AmountMicros: a.AmountMicros, Tokens: a.Tokens}); err != nil {
			return nil, nil, err
		}
	}
	if group == query.SpendByUser && !s.privacy.ShowsPersonalData(f.OrgID) {
		// Ties were broken by the hidden ids: break them by pseudonym.
		slices.SortStableFunc(rows, func(a, b *v1.SpendRow) int {
			return cmp.Or(strings.Compare(a.Currency, b.Currency), cmp.Compare(b.AmountMicros, a.AmountMicros), strings.Compare(a.Key, b.Key))
		})
	}
	return rows, moneyOf(totals), nil
}

var spendGroups = map[v1.SpendGrouping]query.SpendGroup{
	v1.SpendGrouping_SPEND_GROUPING_UNSPECIFIED: query.SpendByTeam,
	v1.SpendGrouping_SPEND_GROUPING_TEAM:        query.SpendByTeam,
	v1.SpendGrouping_SPEND_GROUPING_PRODUCT:     query.SpendByProduct,
	v1.SpendGrouping_SPEND_GROUPING_USER:        query.SpendByUser,
	v1.SpendGrouping_SPEND_GROUPING_ATTRIBUTE:   query.SpendByAttribute,
}

// remainingValue is what is left in packs at their prices, per currency.
func remainingValue(packs []query.Pack) ([]*v1.Money, error) {
	var (
		out []query.SpendAmount
		err error
	)
	for _, p := range packs {
		left := p.Remaining()
		if left <= 0 {
			continue
		}
		// The ledger bounds one pack's tokens × price to 10^18: no overflow here.
		if out, err = addAmount(out, query.SpendAmount{Currency: p.Currency, AmountMicros: left * p.UnitPriceMicros, Tokens: left}); err != nil {
			return nil, err
		}
	}
	return moneyOf(out), nil
}

// addAmount adds a to the entry of its currency in sums, refusing a total
// past int64 rather than wrapping it.
func addAmount(sums []query.SpendAmount, a query.SpendAmount) ([]query.SpendAmount, error) {
	for i := range sums {
		if sums[i].Currency != a.Currency {
			continue
		}
		amount, ok1 := checkedAdd(sums[i].AmountMicros, a.AmountMicros)
		tokens, ok2 := checkedAdd(sums[i].Tokens, a.Tokens)
		if !ok1 || !ok2 {
			return nil, query.ErrAmountTooLarge
		}
		sums[i].AmountMicros, sums[i].Tokens = amount, tokens
		return sums, nil
	}
	return append(sums, a), nil
}

func checkedAdd(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
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
