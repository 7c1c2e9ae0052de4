package tokenctl

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) summaryCommand() *cobra.Command {
	var s scope
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Tokens used and remaining, added and removed lately, per product group and budget",
		Example: `  tokenctl report summary --range this-month
  tokenctl report summary --team design --from 2026-01-01 --to 2026-03-31 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			resp, err := client.GetUsageSummary(cmd.Context(), &v1.GetUsageSummaryRequest{TeamIds: teams, Range: rng})
			if err != nil {
				return err
			}
			remaining := cell(resp.GetTokensRemaining())
			if !resp.GetTokensRemainingKnown() {
				remaining = "unknown (the ledger could not be asked)"
			}
			t := newTable("METRIC", "VALUE")
			t.add("from", resp.GetFromDate())
			t.add("to", resp.GetToDate())
			t.add("tokens_used", resp.GetTokensUsed())
			t.add("tokens_remaining", remaining)
			t.add("tokens_added_last_7_days", resp.GetTokensAddedLast_7Days())
			t.add("tokens_removed_last_7_days", resp.GetTokensRemovedLast_7Days())
			for _, r := range resp.GetRemainingByTeam() {
				t.add("remaining."+r.GetTeamId(), r.GetTokensRemaining())
			}
			for _, g := range resp.GetByGroup() {
				t.add("used.group."+g.GetProductGroup(), g.GetTokens())
			}
			for _, p := range resp.GetByProduct() {
				t.add("used.product."+p.GetProductCode(), p.GetTokens())
			}
			for _, b := range resp.GetBudgets() {
				t.add(fmt.Sprintf("budget.%s.%s", b.GetTeamId(), b.GetBudget().GetBudgetId()),
					fmt.Sprintf("%d of %d (%.0f %%)", b.GetSpent(), b.GetBudget().GetLimitTokens(), b.GetPercent()))
			}
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	return cmd
}
