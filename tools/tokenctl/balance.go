package tokenctl

import (
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) balanceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "balance [TEAM]",
		Short: "Show a team's token balance, or every team's",
		Long: `Show the ledger's balance of one team, or of every team of the organisation
without TEAM: available = purchased - used - expired - removed (moves out
count as removed), and the live tokens (those of packs not yet expired).

With -o json the answer is GetBalanceResponse for one team and
ListTeamsResponse for all.`,
		Example:           "  tokenctl balance design\n  tokenctl balance -o json | jq '.teams[] | {team_id, available}'",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			balances, resp, err := a.balances(cmd, args)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, balanceTable(balances))
		},
	}
}

// balances asks the ledger for one team's balance, or every team's without
// a team.
func (a *app) balances(cmd *cobra.Command, teams []string) ([]*v1.Balance, proto.Message, error) {
	client, err := a.ledgerClient(cmd)
	if err != nil {
		return nil, nil, err
	}
	if len(teams) == 1 {
		resp, err := client.GetBalance(cmd.Context(), &v1.GetBalanceRequest{TeamId: teams[0]})
		if err != nil {
			return nil, nil, err
		}
		return []*v1.Balance{resp.GetBalance()}, resp, nil
	}
	resp, err := a.listTeams(cmd.Context(), client)
	if err != nil {
		return nil, nil, err
	}
	return resp.GetTeams(), resp, nil
}

func balanceTable(balances []*v1.Balance) *table {
	t := newTable("TEAM", "AVAILABLE", "PURCHASED", "USED", "EXPIRED", "REMOVED", "LIVE", "NEXT_EXPIRY", "SUSPENDED")
	for _, b := range balances {
		t.add(b.GetTeamId(), b.GetAvailable(), b.GetPurchased(), b.GetUsed(), b.GetExpired(), b.GetRemoved(), b.GetLive(),
			b.GetNextExpiry(), b.GetSuspended())
	}
	return t
}
