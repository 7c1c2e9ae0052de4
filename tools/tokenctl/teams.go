package tokenctl

import (
	"github.com/spf13/cobra"
)

func (a *app) teamsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "teams",
		Short: "List teams with their balances; merge one team into another",
		Long: `A team owns one token pool. Teams come into being with their first pack or
assignment; a merged team is suspended and takes no more charges.`,
	}
	cmd.AddCommand(a.teamsListCommand(), a.teamsMergeCommand())
	return cmd
}

func (a *app) teamsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the organisation's teams with their balances",
		Example: "  tokenctl teams list\n  tokenctl teams list -o csv > teams.csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			resp, err := a.listTeams(cmd.Context(), client)
			if err != nil {
				return err
			}
			t := newTable("TEAM", "AVAILABLE", "LIVE", "PURCHASED", "USED", "PACKS", "NEXT_EXPIRY", "SUSPENDED")
			for _, b := range resp.GetTeams() {
				live := 0
				for _, p := range b.GetPacks() {
					if !p.GetExpired() {
						live++
					}
				}
				t.add(b.GetTeamId(), b.GetAvailable(), b.GetLive(), b.GetPurchased(), b.GetUsed(), live, b.GetNextExpiry(), b.GetSuspended())
			}
			return a.emit(cmd, resp, t)
		},
	}
}
