package tokenctl

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) capacityCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "capacity",
		Short: "Set and list capacity products: monthly allowances and returnable units",
		Long: `Besides daily-rate tokens a pool can hold capacity: exhaustible (a monthly
allowance, e.g. API units, that refreshes each UTC month and does not roll
over) or returnable (units checked out and returned, like floating seats).
Status is red at or below 20 % available.`,
	}
	cmd.AddCommand(a.capacitySetCommand(), a.capacityListCommand())
	return cmd
}

func capacityTable(balances []*v1.Balance) *table {
	t := newTable("TEAM", "PRODUCT", "KIND", "TOTAL", "AVAILABLE", "IN_USE", "STATUS")
	for _, b := range balances {
		for _, c := range b.GetCapacities() {
			t.add(b.GetTeamId(), c.GetProductCode(), enumName(c.GetKind().String(), "CAPACITY_KIND_"), c.GetTotal(), c.GetAvailable(),
				c.GetInUse(), map[bool]string{false: "ok", true: "red"}[c.GetStatusRed()])
		}
	}
	return t
}

func (a *app) capacityListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list [TEAM]",
		Short: "List the capacity of one team, or of every team",
		Long: `List capacity products from the ledger's balance of one team, or of every team
without TEAM (-o json: the GetBalanceResponse or ListTeamsResponse).`,
		Example:           "  tokenctl capacity list design",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			balances, resp, err := a.balances(cmd, args)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, capacityTable(balances))
		},
	}
}

func (a *app) capacitySetCommand() *cobra.Command {
	var kind, id string
	cmd := &cobra.Command{
		Use:   "set TEAM PRODUCT UNITS --kind exhaustible|returnable",
		Short: "Set a capacity product's units for a team (0 removes it)",
		Example: `  tokenctl capacity set design API-UNITS 10000 --kind exhaustible
  tokenctl capacity set design FLOAT-SEAT 25 --kind returnable`,
		Args:              exactArgs("TEAM", "PRODUCT", "UNITS"),
		ValidArgsFunction: completeArgs(a.teams, nil, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			units, err := strconv.ParseInt(args[2], 10, 64)
			if err != nil || units < 0 {
				return fmt.Errorf("invalid UNITS %q: want a whole number, 0 to remove the product", args[2])
			}
			k, err := parseEnum[v1.CapacityKind]("--kind", kind, v1.CapacityKind_value, "CAPACITY_KIND_")
			if err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.SetCapacity(cmd.Context(), &v1.SetCapacityRequest{EventId: id, TeamId: args[0], ProductCode: args[1], Kind: k, Units: units})
			if err != nil {
				return retryHint(err, id)
			}
			return a.emit(cmd, resp, capacityTable([]*v1.Balance{{TeamId: args[0], Capacities: []*v1.Capacity{resp.GetCapacity()}}}))
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", fmt.Sprintf("how it is consumed: %v", enumNames(v1.CapacityKind_value, "CAPACITY_KIND_")))
	completeFlag(cmd, "kind", fixed(enumNames(v1.CapacityKind_value, "CAPACITY_KIND_")...))
	eventFlag(cmd, &id)
	return cmd
}
