package tokenctl

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) transactionsCommand() *cobra.Command {
	var (
		limit    int
		types    []string
		from, to string
	)
	cmd := &cobra.Command{
		Use:   "transactions [TEAM]",
		Short: "List a team's history, oldest first: every event, with who did it and why",
		Long: `List everything that happened to a team's pool, oldest first: packs added,
charges, launches covered or refused, removals, refunds, moves and expiries,
assignments, budgets set and crossed, capacity changes, merges, and the
organisation's rate changes (they change what the team pays). Each row has its
signed tokens (0 for an event that moves none), the balance after it, the actor,
the reason given and, for a non-money event, what it changed.
Without TEAM: the organisation's rate changes alone.
--type keeps only some types (repeat or comma-separate): pack_added,
window_charged, tokens_adjusted, pack_expired, pool_suspended, launch_denied,
launch_covered, user_assigned, user_unassigned, budget_set, budget_crossed,
capacity_set, capacity_used, capacity_returned, product_rate_set,
subscription_granted, subscription_revoked, launch_subscribed, personal_data_set,
user_erased.
--from and --to keep the events at or after --from and before --to.
Every page is read (--limit caps the rows); with -o json the answer is one
ListTransactionsResponse holding them all.`,
		Example: `  tokenctl transactions design --limit 20
  tokenctl transactions design --type user_assigned,user_unassigned --from 2026-04-01
  tokenctl transactions --type product_rate_set`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("%s takes at most one argument, TEAM; got %d\nrun '%s --help' for usage", cmd.CommandPath(), len(args), cmd.CommandPath())
			}
			return nil
		},
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &v1.ListTransactionsRequest{Types: types}
			if len(args) == 1 {
				req.TeamId = args[0]
			}
			var err error
			if req.From, err = parseWhen("--from", from); err != nil {
				return err
			}
			if req.To, err = parseWhen("--to", to); err != nil {
				return err
			}
			if limit < 0 {
				return fmt.Errorf("invalid --limit %d: want 0 (all) or more", limit)
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			all, err := a.listTransactions(cmd.Context(), client, req, limit)
			if err != nil {
				return err
			}
			return a.emit(cmd, all, transactionsTable(all.GetTransactions()))
		},
	}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 0, "at most this many transactions (0: all)")
	f.StringSliceVar(&types, "type", nil, "only these types, e.g. user_assigned,budget_set (repeat or comma-separate; default: every type)")
	f.StringVar(&from, "from", "", "only events at or after this date (2026-04-01, midnight UTC) or RFC 3339 time")
	f.StringVar(&to, "to", "", "only events before this date or RFC 3339 time")
	return cmd
}

func transactionsTable(txs []*v1.Transaction) *table {
	t := newTable("SEQ", "TIME", "TYPE", "TOKENS", "AVAILABLE_AFTER", "USER", "PRODUCT", "PACK", "COUNTERPARTY", "ACTOR", "REASON", "DETAIL", "EVENT")
	for _, tx := range txs {
		t.add(tx.GetSequence(), tx.GetAt(), tx.GetType(), tx.GetTokens(), tx.GetAvailableAfter(), tx.GetUserId(), tx.GetProductCode(),
			tx.GetPackId(), tx.GetCounterpartyTeamId(), tx.GetActor(), tx.GetReason(), tx.GetDetail(), tx.GetEventId())
	}
	return t
}
