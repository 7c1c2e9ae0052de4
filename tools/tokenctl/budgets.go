package tokenctl

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) budgetsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "budgets",
		Short: "Set, list and delete budgets: caps per user, product group or attribute value",
		Long: `A budget caps what one user, one product group or one value of a launch
attribute (a project, a cost centre) may spend from a team's pool in a day,
week, month or year (UTC calendar periods; weeks start on Monday). A launch
over a hard cap is refused; a soft cap only raises an alert.`,
	}
	cmd.AddCommand(a.budgetsSetCommand(), a.budgetsListCommand(), a.budgetsDeleteCommand())
	return cmd
}

func (a *app) budgetsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "list TEAM",
		Short:             "List a team's budgets with what was spent in the current period",
		Example:           "  tokenctl budgets list design",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			resp, err := a.listBudgets(cmd.Context(), client, args[0])
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, budgetsTable(args[0], resp.GetBudgets(), resp.GetSpent()))
		},
	}
}

func budgetsTable(team string, budgets []*v1.Budget, spent []int64) *table {
	t := newTable("TEAM", "BUDGET", "SCOPE", "ATTRIBUTE", "KEY", "LIMIT", "PERIOD", "HARD", "SPENT", "PERCENT")
	for i, b := range budgets {
		var s any = ""
		pct := ""
		if i < len(spent) {
			s = spent[i]
			if b.GetLimitTokens() > 0 {
				pct = cell(float64(spent[i]) * 100 / float64(b.GetLimitTokens()))
			}
		}
		t.add(team, b.GetBudgetId(), enumName(b.GetScope().String(), "BUDGET_SCOPE_"), b.GetAttributeKey(), b.GetKey(),
			b.GetLimitTokens(), enumName(b.GetPeriod().String(), "BUDGET_PERIOD_"), b.GetHard(), s, pct)
	}
	return t
}

func (a *app) budgetsSetCommand() *cobra.Command {
	var (
		scope, key, attribute, period, limit, id string
		hard                                     bool
	)
	cmd := &cobra.Command{
		Use:   "set TEAM BUDGET_ID --scope SCOPE --key KEY --limit TOKENS --period PERIOD",
		Short: "Create or change a budget of a team",
		Long: `Create BUDGET_ID in TEAM, or replace it: a cap of --limit tokens per --period
on one user (--scope user --key USER), one product group (--scope group --key
GROUP), one value of a launch attribute (--scope attribute --attribute
project --key P-100) or the members of a user group together (--scope
user-group --key GROUP_ID, see 'tokenctl groups'). --hard refuses the launch that would cross the cap;
without it the cap only alerts.`,
		Example: `  tokenctl budgets set design ann-monthly --scope user --key ann --limit 150 --period month --hard
  tokenctl budgets set design p100 --scope attribute --attribute project --key P-100 --limit 2000 --period year`,
		Args:              exactArgs("TEAM", "BUDGET_ID"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := &v1.Budget{BudgetId: args[1], Key: key, AttributeKey: attribute, Hard: hard}
			var err error
			if b.Scope, err = parseEnum[v1.BudgetScope]("--scope", scope, v1.BudgetScope_value, "BUDGET_SCOPE_"); err != nil {
				return err
			}
			if b.Period, err = parseEnum[v1.BudgetPeriod]("--period", period, v1.BudgetPeriod_value, "BUDGET_PERIOD_"); err != nil {
				return err
			}
			if b.LimitTokens, err = parseTokens("--limit", limit); err != nil {
				return err
			}
			if key == "" {
				return fmt.Errorf("say what the budget caps with --key: a user id, a product group or an attribute value")
			}
			if b.Scope == v1.BudgetScope_BUDGET_SCOPE_ATTRIBUTE && attribute == "" {
				return fmt.Errorf("an attribute budget needs --attribute, the attribute's name (e.g. project)")
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.SetBudget(cmd.Context(), &v1.SetBudgetRequest{EventId: id, TeamId: args[0], Budget: b})
			if err != nil {
				return retryHint(err, id)
			}
			return a.emit(cmd, resp, budgetsTable(args[0], []*v1.Budget{resp.GetBudget()}, nil))
		},
	}
	f := cmd.Flags()
	f.StringVar(&scope, "scope", "", fmt.Sprintf("what the budget caps: %v", enumNames(v1.BudgetScope_value, "BUDGET_SCOPE_")))
	f.StringVar(&key, "key", "", "the user id, product group or attribute value capped")
	f.StringVar(&attribute, "attribute", "", "the attribute's name, for --scope attribute (e.g. project)")
	f.StringVar(&limit, "limit", "", "tokens the scope may spend per period")
	f.StringVar(&period, "period", "month", fmt.Sprintf("the period: %v", enumNames(v1.BudgetPeriod_value, "BUDGET_PERIOD_")))
	f.BoolVar(&hard, "hard", false, "refuse launches over the cap (default: only alert)")
	completeFlag(cmd, "scope", fixed(enumNames(v1.BudgetScope_value, "BUDGET_SCOPE_")...))
	completeFlag(cmd, "period", fixed(enumNames(v1.BudgetPeriod_value, "BUDGET_PERIOD_")...))
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) budgetsDeleteCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:               "delete TEAM BUDGET_ID",
		Short:             "Remove a budget",
		Example:           "  tokenctl budgets delete design ann-monthly",
		Args:              exactArgs("TEAM", "BUDGET_ID"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			id = eventID(id)
			resp, err := client.SetBudget(cmd.Context(), &v1.SetBudgetRequest{EventId: id, TeamId: args[0], Budget: &v1.Budget{BudgetId: args[1], Deleted: true}})
			if err != nil {
				return retryHint(err, id)
			}
			t := newTable("TEAM", "BUDGET", "DELETED")
			t.add(args[0], args[1], true)
			return a.emit(cmd, resp, t)
		},
	}
	eventFlag(cmd, &id)
	return cmd
}
