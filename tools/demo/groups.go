package demo

import (
	"context"
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Group is the demo's user group: design's drafting office, whose members
// may open the AutoCAD products (they are assigned every product anyway)
// and whose soft monthly budget alerts when they spend more together.
var Group = struct {
	Team, ID, Name string
	Products       []string
	Members        []string
}{"design", "drafting", "Drafting office", []string{"ACAD", "ACAD-MEP"}, []string{"ann", "bob"}}

// setUpGroup makes the demo group; its event ids are fixed, so loading
// again changes nothing.
func setUpGroup(ctx context.Context, ledger v1.LedgerServiceClient) error {
	g, prefix := Group, "demo-group-"+Group.Team+"-"+Group.ID
	steps := []func() error{
		func() error {
			_, err := ledger.CreateUserGroup(ctx, &v1.CreateUserGroupRequest{EventId: prefix, TeamId: g.Team, GroupId: g.ID, Name: g.Name})
			return err
		},
		func() error {
			_, err := ledger.SetUserGroupProducts(ctx, &v1.SetUserGroupProductsRequest{EventId: prefix + "-products", TeamId: g.Team, GroupId: g.ID, ProductCodes: g.Products})
			return err
		},
		func() error {
			_, err := ledger.ChangeUserGroupMembers(ctx, &v1.ChangeUserGroupMembersRequest{EventId: prefix + "-members", TeamId: g.Team, GroupId: g.ID, AddUserIds: g.Members})
			return err
		},
		func() error {
			_, err := ledger.SetBudget(ctx, &v1.SetBudgetRequest{EventId: prefix + "-budget", TeamId: g.Team, Budget: &v1.Budget{
				BudgetId: g.ID + "-month", Scope: v1.BudgetScope_BUDGET_SCOPE_USER_GROUP, Key: g.ID,
				LimitTokens: 2000, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH}})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("demo group %s: %w", g.ID, err)
		}
	}
	return nil
}
