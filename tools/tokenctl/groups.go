package tokenctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) groupsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "User groups of a team: products and budgets given to many users together",
		Long: `A user group of a team has an id, a name, products and members. Members may
launch the group's products as if assigned them (on top of their own
assignment, if any), and a budget of scope user-group ('tokenctl budgets set
TEAM ID --scope user-group --key GROUP') caps their spending together.
A team holds at most 256 groups, a group at most 1,000 members; names are at
most 128 bytes. Deleting a group removes its members and its budgets.`,
	}
	cmd.AddCommand(a.groupsCreateCommand(), a.groupsRenameCommand(), a.groupsProductsCommand(),
		a.groupsMembersCommand("add"), a.groupsMembersCommand("remove"), a.groupsDeleteCommand(), a.groupsListCommand())
	return cmd
}

// groupChange runs one change to a group and shows the group as it stands.
func (a *app) groupChange(cmd *cobra.Command, id string, call func(context.Context, v1.LedgerServiceClient) (*v1.UserGroup, error), what string) error {
	client, err := a.ledgerClient(cmd)
	if err != nil {
		return err
	}
	g, err := call(cmd.Context(), client)
	if err != nil {
		return retryHint(err, id)
	}
	t := groupTable([]*v1.UserGroup{g})
	t.note("%s (event %s)", what, id)
	return a.emit(cmd, g, t)
}

func (a *app) groupsCreateCommand() *cobra.Command {
	var name, reason, id string
	cmd := &cobra.Command{
		Use:               "create TEAM GROUP --name NAME",
		Short:             "Make a new, empty user group in a team",
		Example:           `  tokenctl groups create design drafters --name "Drafting office"`,
		Args:              exactArgs("TEAM", "GROUP"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				name = args[1]
			}
			id = eventID(id)
			return a.groupChange(cmd, id, func(ctx context.Context, c v1.LedgerServiceClient) (*v1.UserGroup, error) {
				resp, err := c.CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: id, TeamId: args[0], GroupId: args[1], Name: name, Reason: reason})
				return resp.GetGroup(), err
			}, "created")
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the group's name, at most 128 bytes (default: its id)")
	reasonFlag(cmd, &reason)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) groupsRenameCommand() *cobra.Command {
	var reason, id string
	cmd := &cobra.Command{
		Use:               "rename TEAM GROUP NAME",
		Short:             "Change a group's name (its id stays)",
		Example:           `  tokenctl groups rename design drafters "CAD office"`,
		Args:              exactArgs("TEAM", "GROUP", "NAME"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			id = eventID(id)
			return a.groupChange(cmd, id, func(ctx context.Context, c v1.LedgerServiceClient) (*v1.UserGroup, error) {
				resp, err := c.RenameUserGroup(ctx, &v1.RenameUserGroupRequest{EventId: id, TeamId: args[0], GroupId: args[1], Name: args[2], Reason: reason})
				return resp.GetGroup(), err
			}, "renamed")
		},
	}
	reasonFlag(cmd, &reason)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) groupsProductsCommand() *cobra.Command {
	var (
		products   []string
		none       bool
		reason, id string
	)
	cmd := &cobra.Command{
		Use:   "products TEAM GROUP (--products CODES | --none)",
		Short: "Set the products a group's members may launch (replacing those it had)",
		Example: `  tokenctl groups products design drafters --products ACAD,ACAD-MEP
  tokenctl groups products design drafters --products '*'
  tokenctl groups products design drafters --none`,
		Args:              exactArgs("TEAM", "GROUP"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			products = sortedSet(products)
			if len(products) == 0 && !none {
				return fmt.Errorf("say which products the group opens (--products ACAD,REVIT or '*'), or --none")
			}
			if len(products) > 0 && none {
				return fmt.Errorf("--products and --none exclude each other")
			}
			id = eventID(id)
			return a.groupChange(cmd, id, func(ctx context.Context, c v1.LedgerServiceClient) (*v1.UserGroup, error) {
				resp, err := c.SetUserGroupProducts(ctx, &v1.SetUserGroupProductsRequest{EventId: id, TeamId: args[0], GroupId: args[1], ProductCodes: products, Reason: reason})
				return resp.GetGroup(), err
			}, "products set")
		},
	}
	cmd.Flags().StringSliceVar(&products, "products", nil, `product codes the members may launch, comma-separated ("*": all)`)
	cmd.Flags().BoolVar(&none, "none", false, "the group opens no product (its budget only)")
	completeFlag(cmd, "products", a.products)
	reasonFlag(cmd, &reason)
	eventFlag(cmd, &id)
	return cmd
}

// groupsMembersCommand is "add" or "remove": users in or out of a group.
func (a *app) groupsMembersCommand(verb string) *cobra.Command {
	var reason, id string
	short := "Add users to a group (adding a member changes nothing)"
	if verb == "remove" {
		short = "Remove users from a group (each must be a member)"
	}
	cmd := &cobra.Command{
		Use:               verb + " TEAM GROUP USER...",
		Short:             short,
		Example:           "  tokenctl groups " + verb + " design drafters ann bob",
		Args:              cobra.RangeArgs(3, 2+1000),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &v1.ChangeUserGroupMembersRequest{EventId: eventID(id), TeamId: args[0], GroupId: args[1], Reason: reason}
			if verb == "add" {
				req.AddUserIds = args[2:]
			} else {
				req.RemoveUserIds = args[2:]
			}
			return a.groupChange(cmd, req.GetEventId(), func(ctx context.Context, c v1.LedgerServiceClient) (*v1.UserGroup, error) {
				resp, err := c.ChangeUserGroupMembers(ctx, req)
				return resp.GetGroup(), err
			}, fmt.Sprintf("%d user(s) %s", len(args)-2, map[string]string{"add": "added", "remove": "removed"}[verb]))
		},
	}
	reasonFlag(cmd, &reason)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) groupsDeleteCommand() *cobra.Command {
	var reason, id string
	cmd := &cobra.Command{
		Use:               "delete TEAM GROUP",
		Short:             "Delete a group: its members lose what it gave them, its budgets go",
		Example:           "  tokenctl groups delete design drafters --reason reorganised",
		Args:              exactArgs("TEAM", "GROUP"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.DeleteUserGroup(cmd.Context(), &v1.DeleteUserGroupRequest{EventId: id, TeamId: args[0], GroupId: args[1], Reason: reason})
			if err != nil {
				return retryHint(err, id)
			}
			t := newTable("TEAM", "GROUP")
			t.add(args[0], args[1])
			t.note("deleted with its members and budgets (event %s)", id)
			return a.emit(cmd, resp, t)
		},
	}
	reasonFlag(cmd, &reason)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) groupsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "list TEAM",
		Short:             "The team's user groups with their products and members",
		Example:           "  tokenctl groups list design -o json",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			groups, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.UserGroup, string, error) {
				resp, err := client.ListUserGroups(ctx, &v1.ListUserGroupsRequest{TeamId: args[0], PageSize: size, PageToken: token})
				return resp.GetGroups(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListUserGroupsResponse{Groups: groups}, groupTable(groups))
		},
	}
}

func reasonFlag(cmd *cobra.Command, reason *string) {
	cmd.Flags().StringVar(reason, "reason", "", "why (at most 512 bytes), kept in the history")
}

func groupTable(groups []*v1.UserGroup) *table {
	t := newTable("TEAM", "GROUP", "NAME", "PRODUCTS", "MEMBERS")
	for _, g := range groups {
		t.add(g.GetTeamId(), g.GetGroupId(), g.GetName(), strings.Join(g.GetProductCodes(), ","), strings.Join(g.GetMemberIds(), ","))
	}
	return t
}
