package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) byDayCommand() *cobra.Command {
	var s scope
	cmd := &cobra.Command{
		Use:     "by-day",
		Short:   "Tokens and charges per day and product",
		Example: "  tokenctl report by-day --range 3m --team design\n  tokenctl report by-day --from 2026-03-01 -o csv > march.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			resp, err := client.GetUsageByDay(cmd.Context(), &v1.GetUsageByDayRequest{TeamIds: teams, Range: rng})
			if err != nil {
				return err
			}
			t := newTable("DAY", "PRODUCT", "TOKENS", "CHARGES")
			for _, d := range resp.GetDays() {
				t.add(d.GetDay(), d.GetProductCode(), d.GetTokens(), d.GetCharges())
			}
			t.note("%d tokens from %s to %s", resp.GetTotalTokens(), resp.GetFromDate(), resp.GetToDate())
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	return cmd
}
