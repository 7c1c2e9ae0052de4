package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) forecastCommand() *cobra.Command {
	var (
		termStart    string
		termTokens   int64
		excludePlans bool
	)
	cmd := &cobra.Command{
		Use:   "forecast TEAM",
		Short: "Burn rate, run-out date and the term's month-by-month cumulative use",
		Long: `Forecast TEAM's pool from its burn rate (the higher of 30 and 90 days): when it runs out, what will
expire unspent, a suggested renewal, and the 12-month term's cumulative table
(months not yet ended are projected). With a year of history the projection
follows last year's months and the weekday profile; the team's planned
projects ('tokenctl plans') are added unless --exclude-plans. A forecast looks at a term, not at a
--range: --term-start picks the term's first month.`,
		Example:           "  tokenctl report forecast design\n  tokenctl report forecast design --term-start 2026-01 --term-tokens 6000",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.Forecast(cmd.Context(), &v1.ForecastRequest{TeamId: args[0], TermStartMonth: termStart, TermTokens: termTokens, ExcludePlans: excludePlans})
			if err != nil {
				return err
			}
			t := newTable("MONTH", "USED", "CUMULATIVE", "PERCENT", "PROJECTED", "RUN_OUT_MONTH")
			for _, m := range resp.GetMonths() {
				t.add(m.GetMonth(), m.GetTokensUsed(), m.GetCumulativeTokens(), m.GetCumulativePercent(), m.GetProjected(), m.GetProjectedRunOutMonth())
			}
			runOut := "not before the live packs expire"
			if resp.GetRunOutAt() != nil {
				runOut = cell(resp.GetRunOutAt())
			}
			t.note("available %d tokens (from the %s); burn rate %.1f/day over 30 days, %.1f/day over 90",
				resp.GetTokensAvailable(), resp.GetBalanceSource(), resp.GetBurnRate_30Days(), resp.GetBurnRate_90Days())
			t.note("runs out: %s; %d tokens expire unspent; suggested renewal %d tokens (used %d in 6 months, %d in 12)",
				runOut, resp.GetTokensExpiringUnspent(), resp.GetSuggestedRenewal(), resp.GetUsedLast_6Months(), resp.GetUsedLast_12Months())
			forecastNotes(t, resp)
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&termStart, "term-start", "", "first month of the 12-month term, YYYY-MM (default: the term ending this month)")
	cmd.Flags().Int64Var(&termTokens, "term-tokens", 0, "tokens of the term the percentages divide by (default: the tokens added in the term)")
	cmd.Flags().BoolVar(&excludePlans, "exclude-plans", false, "leave the team's planned projects ('tokenctl plans') out")
	return cmd
}

func forecastNotes(t *table, resp *v1.ForecastResponse) {
	if resp.GetSeasonal() {
		t.note("seasonal: last year's month factors (Jan-Dec) %v, weekday factors (Mon-Sun) %v", resp.GetMonthFactors(), resp.GetWeekdayFactors())
	}
	if resp.GetPlans() > 0 {
		t.note("%d planned projects add %d tokens; without them it runs out: %s", resp.GetPlans(), resp.GetPlannedTokens(),
			runOutText(resp.GetRunOutAtWithoutPlans()))
	}
}
