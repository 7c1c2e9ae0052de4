package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) byAttributeCommand() *cobra.Command {
	var (
		s     scope
		limit int32
	)
	cmd := &cobra.Command{
		Use:   "by-attribute ATTRIBUTE",
		Short: "Tokens per value of a launch attribute (project, cost centre …) for chargeback",
		Example: `  tokenctl report by-attribute project --range this-month
  tokenctl report by-attribute cost_centre --from 2026-01-01 -o csv`,
		Args: exactArgs("ATTRIBUTE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			resp, err := client.GetUsageByAttribute(cmd.Context(), &v1.GetUsageByAttributeRequest{
				TeamIds: teams, Range: rng, AttributeKey: args[0], Limit: limit,
			})
			if err != nil {
				return err
			}
			t := newTable("VALUE", "TOKENS", "CHARGES", "USERS")
			for _, v := range resp.GetValues() {
				t.add(v.GetValue(), v.GetTokens(), v.GetCharges(), v.GetUsers())
			}
			t.note("%d tokens from %s to %s, %d without a %s", resp.GetTotalTokens(), resp.GetFromDate(), resp.GetToDate(),
				resp.GetUnattributedTokens(), args[0])
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	cmd.Flags().Int32Var(&limit, "limit", 0, "at most this many values (0: all)")
	return cmd
}
