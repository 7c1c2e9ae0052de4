package tokenctl

import (
	"github.com/spf13/cobra"
)

// completer offers the values of one argument or flag.
type completer func(cmd *cobra.Command, toComplete string) []string

// completeArgs completes the i-th positional argument with the i-th completer
// (nil: nothing to offer).
func completeArgs(each ...completer) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= len(each) || each[len(args)] == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return each[len(args)](cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFlag completes a flag's value.
func completeFlag(cmd *cobra.Command, flag string, c completer) {
	_ = cmd.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return c(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}

// fixed offers a fixed list.
func fixed(values ...string) completer {
	return func(*cobra.Command, string) []string { return values }
}

// teams offers the organisation's team ids with their balances, asked of
// the ledger (nothing when it cannot be asked).
func (a *app) teams(cmd *cobra.Command, _ string) []string {
	client, err := a.ledgerClient(cmd)
	if err != nil {
		return nil
	}
	resp, err := a.listTeams(cmd.Context(), client)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(resp.GetTeams()))
	for _, b := range resp.GetTeams() {
		out = append(out, b.GetTeamId()+"\t"+cell(b.GetAvailable())+" tokens available")
	}
	return out
}

// products offers the product codes of the catalog with their names.
func (a *app) products(cmd *cobra.Command, _ string) []string {
	client, err := a.ledgerClient(cmd)
	if err != nil {
		return nil
	}
	resp, err := a.listProducts(cmd.Context(), client)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(resp.GetProducts()))
	for _, p := range resp.GetProducts() {
		out = append(out, p.GetProductCode()+"\t"+p.GetName())
	}
	return out
}
