package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) teamsMergeCommand() *cobra.Command {
	var reason, id string
	cmd := &cobra.Command{
		Use:   "merge FROM_TEAM INTO_TEAM",
		Short: "Move every live token and assignment of one team into another and suspend the first",
		Long: `Merge FROM_TEAM into INTO_TEAM: every live token (each keeping its pack's
expiry) and every user assignment moves, and FROM_TEAM is suspended: it takes
no more charges. Both teams must belong to your organisation.`,
		Example:           `  tokenctl teams merge civil-old civil --reason "reorganisation 2026"`,
		Args:              exactArgs("FROM_TEAM", "INTO_TEAM"),
		ValidArgsFunction: completeArgs(a.teams, a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.MergeTeams(cmd.Context(), &v1.MergeTeamsRequest{EventId: id, FromTeamId: args[0], IntoTeamId: args[1], Reason: reason})
			if err != nil {
				return retryHint(err, id)
			}
			t := balanceTable([]*v1.Balance{resp.GetInto()})
			t.note("merged %s into %s: %d tokens and %d users moved (event %s)", args[0], args[1], resp.GetTokensMoved(), resp.GetUsersMoved(), id)
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the teams are merged (kept with the event)")
	eventFlag(cmd, &id)
	return cmd
}
