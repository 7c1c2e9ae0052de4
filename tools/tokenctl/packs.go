package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) packsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "packs",
		Short: "List, add (purchase, true-up), remove or refund packs of tokens; move tokens between teams",
		Long: `A pack is tokens bought at once, with a unit price, a purchase date and an
expiry (default: 12 months after purchase, or the contract end if earlier).
Charges take tokens from the live pack that expires first. Every change is an
event with you as its actor; --event-id makes a retry safe.`,
	}
	cmd.AddCommand(a.packsListCommand(), a.packsAddCommand(), a.packsRemoveCommand(), a.packsMoveCommand())
	return cmd
}

func (a *app) packsListCommand() *cobra.Command {
	var expired bool
	cmd := &cobra.Command{
		Use:               "list TEAM",
		Short:             "List a team's packs, the one that expires first first",
		Example:           "  tokenctl packs list design --expired",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			resp, err := a.listPacks(cmd.Context(), client, args[0], expired)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, packsTable(args[0], resp.GetPacks()))
		},
	}
	cmd.Flags().BoolVar(&expired, "expired", false, "include expired packs")
	return cmd
}

func packsTable(team string, packs []*v1.Pack) *table {
	t := newTable("TEAM", "PACK", "SOURCE", "TOKENS", "REMAINING", "UNIT_PRICE", "CURRENCY", "PURCHASED", "EXPIRES", "EXPIRED")
	for _, p := range packs {
		t.add(team, p.GetPackId(), enumName(p.GetSource().String(), "PACK_SOURCE_"), p.GetTokens(), p.GetRemaining(),
			micros(p.GetUnitPriceMicros()), p.GetCurrency(), p.GetPurchasedAt(), p.GetExpiresAt(), p.GetExpired())
	}
	return t
}
