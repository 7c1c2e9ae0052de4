package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) adviceCommand() *cobra.Command {
	var teams []string
	cmd := &cobra.Command{
		Use:   "advice",
		Short: "Who should stay on tokens, move to a named subscription, or be unassigned",
		Long: `Licensing advice per user and product over the trailing 365 days: heavy users
are cheaper on a named subscription, occasional ones on tokens, and users
assigned but idle can be unassigned. Advice looks at the trailing year, not at
a --range.`,
		Example: "  tokenctl report advice --team design\n  tokenctl report advice -o csv > advice.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ids, err := a.teamsOrAll(cmd, teams)
			if err != nil {
				return err
			}
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.AdviseLicensing(cmd.Context(), &v1.AdviseLicensingRequest{TeamIds: ids})
			if err != nil {
				return err
			}
			t := newTable("TEAM", "USER", "PRODUCT", "ACTION", "DAYS_LAST_YEAR", "TOKENS_LAST_YEAR", "TOKEN_COST", "SUBSCRIPTION_COST",
				"SAVING", "CURRENCY", "LAST_USED", "RECOMMENDATION")
			for _, ad := range resp.GetAdvice() {
				t.add(ad.GetTeamId(), ad.GetUserId(), ad.GetProductCode(), enumName(ad.GetAction().String(), "RECOMMENDATION_"),
					ad.GetDaysUsedLastYear(), ad.GetTokensLastYear(), ad.GetYearlyTokenCost(), ad.GetYearlySubscriptionCost(),
					ad.GetYearlySaving(), ad.GetCurrency(), ad.GetLastUsed(), ad.GetRecommendation())
			}
			t.note("%d users to move to a subscription (saving %.2f %s a year), %d to unassign; token price %.2f",
				resp.GetUsersToMove(), resp.GetTotalYearlySaving(), resp.GetCurrency(), resp.GetUsersToUnassign(), resp.GetTokenPrice())
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringSliceVar(&teams, "team", nil, "only these teams (repeat or comma-separate; default: all)")
	completeFlag(cmd, "team", a.teams)
	return cmd
}
