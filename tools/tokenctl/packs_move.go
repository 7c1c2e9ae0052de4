package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) packsMoveCommand() *cobra.Command {
	var reason, id string
	cmd := &cobra.Command{
		Use:   "move FROM_TEAM TO_TEAM TOKENS --reason TEXT",
		Short: "Move tokens from one team's pool to another's (same organisation)",
		Long: `Move TOKENS from FROM_TEAM to TO_TEAM. They leave FROM_TEAM's packs that expire
first and arrive in TO_TEAM as packs with the same expiries, so no token lives
longer than it was bought for. Repeating the command with the same --event-id
completes a move that was interrupted, and never moves twice.`,
		Example:           `  tokenctl packs move design civil 500 --reason "civil project peak"`,
		Args:              exactArgs("FROM_TEAM", "TO_TEAM", "TOKENS"),
		ValidArgsFunction: completeArgs(a.teams, a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, err := parseTokens("TOKENS", args[2])
			if err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.AdjustBalance(cmd.Context(), &v1.AdjustBalanceRequest{
				EventId: id, TeamId: args[0], Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT, Tokens: tokens,
				Reason: reason, CounterpartyTeamId: args[1],
			})
			if err != nil {
				return retryHint(err, id)
			}
			t := balanceTable([]*v1.Balance{resp.GetBalance()})
			t.note("moved %d tokens from %s to %s (event %s)", tokens, args[0], args[1], id)
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the tokens move (required)")
	eventFlag(cmd, &id)
	return cmd
}
