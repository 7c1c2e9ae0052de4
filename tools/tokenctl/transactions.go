package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) transactionsCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "transactions TEAM",
		Short: "List the money events of a team's pool, oldest first",
		Long: `List what changed a team's pool: packs added, charges, removals, refunds,
moves and expiries, each with its signed tokens and the balance after it.
With -o json the answer is one ListTransactionsResponse holding every page read.`,
		Example:           "  tokenctl transactions design --limit 20",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			all := &v1.ListTransactionsResponse{}
			token := ""
			for {
				size := 1000
				if limit > 0 {
					size = min(size, limit-len(all.Transactions))
				}
				resp, err := client.ListTransactions(cmd.Context(), &v1.ListTransactionsRequest{TeamId: args[0], PageSize: int32(size), PageToken: token})
				if err != nil {
					return err
				}
				all.Transactions = append(all.Transactions, resp.GetTransactions()...)
				token = resp.GetNextPageToken()
				if token == "" || (limit > 0 && len(all.Transactions) >= limit) || len(resp.GetTransactions()) == 0 {
					break
				}
			}
			t := newTable("SEQ", "TIME", "TYPE", "TOKENS", "AVAILABLE_AFTER", "USER", "PRODUCT", "PACK", "ACTOR", "REASON", "EVENT")
			for _, tx := range all.Transactions {
				t.add(tx.GetSequence(), tx.GetAt(), tx.GetType(), tx.GetTokens(), tx.GetAvailableAfter(), tx.GetUserId(), tx.GetProductCode(),
					tx.GetPackId(), tx.GetActor(), tx.GetReason(), tx.GetEventId())
			}
			return a.emit(cmd, all, t)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many transactions (0: all)")
	return cmd
}
