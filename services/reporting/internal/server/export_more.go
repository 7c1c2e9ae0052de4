package server

import (
	"context"

	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// exportDenials lists every refused launch of the range, oldest first.
func (s *Server) exportDenials(ctx context.Context, f query.Filter, shown *privacy.Shown, row func([]any) error) error {
	return s.reports.EachDenial(ctx, query.DenialScope{Filter: f}, func(x *query.DenialRow) error {
		shown := shown.Row(x.UserID) // an erased user's devices and ids are pseudonyms too
		return row([]any{x.Day.Format(query.DateLayout), stamp(x.At), x.TeamID, shown.User(x.UserID), x.Product, x.Version,
			shown.Device(x.Device), x.Reason, x.TokensRequired, x.Renewal, shown.Event(x.EventID)})
	})
}

// spendExports are the groupings a spend export lists, in order.
var spendExports = []struct {
	name  string
	group query.SpendGroup
}{{"team", query.SpendByTeam}, {"product", query.SpendByProduct}, {"user", query.SpendByUser}}

// exportSpend lists GetSpend's rows by team, then product, then user: what
// the range's charges cost at their packs' prices, per currency.
func (s *Server) exportSpend(ctx context.Context, f query.Filter, show func(string) string, row func([]any) error) error {
	for _, g := range spendExports {
		amounts, err := s.reports.Spend(ctx, f, g.group, "")
		if err != nil {
			return err
		}
		for _, a := range amounts {
			key := a.Key
			if g.group == query.SpendByUser {
				key = show(key)
			}
			if err := row([]any{g.name, key, a.Currency, float64(a.AmountMicros) / 1e6, a.Tokens, a.Charges}); err != nil {
				return err
			}
		}
	}
	return nil
}
