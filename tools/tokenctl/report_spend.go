package tokenctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) spendCommand() *cobra.Command {
	var (
		s        scope
		by, attr string
	)
	cmd := &cobra.Command{
		Use:   "spend",
		Short: "Money spent per team, product, user or attribute, in each pack's currency",
		Long: `Values each charge at the unit prices of the packs its tokens came from, and
totals it per --by group and currency (amounts in different currencies are
never added; tokens of packs without a price show under currency "-"). The
notes give the total per currency, the value of tokens that expired unused
in the range, and the value left in the packs now.`,
		Example: `  tokenctl report spend --range this-month
  tokenctl report spend --by attribute --attribute project -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &v1.GetSpendRequest{AttributeKey: attr}
			if by != "" {
				g, err := parseEnum[v1.SpendGrouping]("--by", by, v1.SpendGrouping_value, "SPEND_GROUPING_")
				if err != nil {
					return err
				}
				req.GroupBy = g
			}
			if (req.GroupBy == v1.SpendGrouping_SPEND_GROUPING_ATTRIBUTE) != (attr != "") {
				return fmt.Errorf("--attribute goes with --by attribute, and --by attribute needs it")
			}
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			req.TeamIds, req.Range = teams, rng
			var resp *v1.GetSpendResponse
			rows, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.SpendRow, string, error) {
				req.PageSize, req.PageToken = size, token
				page, err := client.GetSpend(ctx, req)
				resp = page // the totals are on every page
				return page.GetRows(), page.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			resp.Rows, resp.NextPageToken = rows, ""
			t := newTable("KEY", "CURRENCY", "AMOUNT", "TOKENS", "CHARGES")
			for _, r := range resp.GetRows() {
				t.add(r.GetKey(), r.GetCurrency(), micros(r.GetAmountMicros()), r.GetTokens(), r.GetCharges())
			}
			t.note("spent from %s to %s: %s", resp.GetFromDate(), resp.GetToDate(), moneyNote(resp.GetTotalSpent()))
			t.note("expired unused in the range: %s", moneyNote(resp.GetExpiredUnused()))
			t.note("left in the packs now: %s", moneyNote(resp.GetRemaining()))
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	f := cmd.Flags()
	f.StringVar(&by, "by", "", "group by: "+joinNames(enumNames(v1.SpendGrouping_value, "SPEND_GROUPING_"))+" (default team)")
	f.StringVar(&attr, "attribute", "", "with --by attribute: the attribute, e.g. project or cost_centre")
	completeFlag(cmd, "by", fixed(enumNames(v1.SpendGrouping_value, "SPEND_GROUPING_")...))
	return cmd
}

// moneyNote is amounts per currency, "none" when there are none.
func moneyNote(ms []*v1.Money) string {
	if len(ms) == 0 {
		return "none"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		cur := m.GetCurrency()
		if cur == "" {
			cur = "unpriced"
		}
		parts[i] = fmt.Sprintf("%s %s (%d tokens)", micros(m.GetAmountMicros()), cur, m.GetTokens())
	}
	return strings.Join(parts, ", ")
}
