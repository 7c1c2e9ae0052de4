package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) packsRemoveCommand() *cobra.Command {
	var (
		reason, id string
		refund     bool
	)
	cmd := &cobra.Command{
		Use:   "remove TEAM TOKENS --reason TEXT",
		Short: "Take tokens out of a team's pool (removed, or refunded with --refund)",
		Long: `Take TOKENS out of TEAM's pool, from the packs that expire first, as a
removal or, with --refund, as a refund to the customer. The pool must hold
them: the balance never goes below zero.`,
		Example:           `  tokenctl packs remove design 100 --reason "duplicate purchase" --refund`,
		Args:              exactArgs("TEAM", "TOKENS"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			tokens, err := parseTokens("TOKENS", args[1])
			if err != nil {
				return err
			}
			kind := v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE
			if refund {
				kind = v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.AdjustBalance(cmd.Context(), &v1.AdjustBalanceRequest{
				EventId: id, TeamId: args[0], Kind: kind, Tokens: tokens, Reason: reason,
			})
			if err != nil {
				return retryHint(err, id)
			}
			t := balanceTable([]*v1.Balance{resp.GetBalance()})
			t.note("%s %d tokens from %s (event %s)", map[bool]string{false: "removed", true: "refunded"}[refund], tokens, args[0], id)
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the tokens are taken out (required)")
	cmd.Flags().BoolVar(&refund, "refund", false, "record the tokens as refunded rather than removed")
	eventFlag(cmd, &id)
	return cmd
}
