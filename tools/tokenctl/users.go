package tokenctl

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) usersCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Assign users to teams with the products they may use, or unassign them",
		Long: `A launch by a user who is not assigned to the team, or of a product the
assignment does not allow, is refused. 'tokenctl report by-user' and
'tokenctl export --kind users' list the assignments; 'tokenctl users list' is the
directory.`,
	}
	cmd.AddCommand(a.usersAssignCommand(), a.usersUnassignCommand(), a.usersListCommand(), a.usersSetProfileCommand(), a.usersEraseCommand(), a.usersImportCommand())
	return cmd
}

func (a *app) usersAssignCommand() *cobra.Command {
	var (
		products []string
		id       string
	)
	cmd := &cobra.Command{
		Use:   "assign TEAM USER",
		Short: "Let a user open the given products from the team's pool",
		Long: `Assign USER to TEAM with the products they may open (--products, product
codes; '*' for every product). Assigning again replaces the products.`,
		Example:           "  tokenctl users assign design ann --products REVIT,ACAD\n  tokenctl users assign design bob --products '*'",
		Args:              exactArgs("TEAM", "USER"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			products = sortedSet(products)
			if len(products) == 0 {
				return fmt.Errorf("say which products %s may use: --products REVIT,ACAD (or --products '*' for all)", args[1])
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.AssignUser(cmd.Context(), &v1.AssignUserRequest{EventId: id, TeamId: args[0], UserId: args[1], ProductCodes: products})
			if err != nil {
				return retryHint(err, id)
			}
			t := newTable("TEAM", "USER", "PRODUCTS", "ASSIGNED")
			t.add(args[0], args[1], strings.Join(products, ","), true)
			return a.emit(cmd, resp, t)
		},
	}
	cmd.Flags().StringSliceVar(&products, "products", nil, "product codes the user may open, comma-separated ('*': all)")
	completeFlag(cmd, "products", a.products)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) usersUnassignCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:               "unassign TEAM USER",
		Short:             "Take a user off a team: their next launch is refused",
		Example:           "  tokenctl users unassign design ann",
		Args:              exactArgs("TEAM", "USER"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.UnassignUser(cmd.Context(), &v1.UnassignUserRequest{EventId: id, TeamId: args[0], UserId: args[1]})
			if err != nil {
				return retryHint(err, id)
			}
			t := newTable("TEAM", "USER", "PRODUCTS", "ASSIGNED")
			t.add(args[0], args[1], "", false)
			return a.emit(cmd, resp, t)
		},
	}
	eventFlag(cmd, &id)
	return cmd
}
