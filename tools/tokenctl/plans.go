package tokenctl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) plansCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plans",
		Short: "Planned projects: users × days × products a team expects, which the forecast adds",
		Long: `A planned project is users each using some products on a number of days a week
(or days in all) from a start date to an end date. 'plans estimate' answers how
many tokens it takes (users × days × the products' daily rates) and when the
team runs out with it and without it; 'plans add' records it so that
'report forecast' includes it.`,
	}
	cmd.AddCommand(a.plansEstimateCommand(), a.plansAddCommand(), a.plansRemoveCommand(), a.plansListCommand())
	return cmd
}

// planFlags are the flags of a plan's spec.
func planFlags(cmd *cobra.Command, a *app, spec *v1.PlanSpec) {
	cmd.Flags().StringVar(&spec.Name, "name", "", "the project's name (at most 128 characters)")
	cmd.Flags().Int64Var(&spec.Users, "users", 0, "people on the project, 1 to 10,000")
	cmd.Flags().Int32Var(&spec.DaysPerWeek, "days-per-week", 0, "days each user works with the products every week, 1 to 7 (Monday to Friday first)")
	cmd.Flags().Int64Var(&spec.Days, "days", 0, "or: days each user works with the products over the whole project")
	cmd.Flags().StringSliceVar(&spec.ProductCodes, "products", nil, "product codes, comma-separated")
	cmd.Flags().StringVar(&spec.StartDate, "start", "", "first day, YYYY-MM-DD")
	cmd.Flags().StringVar(&spec.EndDate, "end", "", "last day, YYYY-MM-DD (at most 1,095 days after --start)")
	completeFlag(cmd, "products", a.products)
}

func (a *app) plansEstimateCommand() *cobra.Command {
	spec := &v1.PlanSpec{}
	cmd := &cobra.Command{
		Use:               "estimate TEAM",
		Short:             "How many tokens a plan takes, and when TEAM runs out with it and without it",
		Example:           "  tokenctl plans estimate design --name 'Bridge tender' --users 10 --days-per-week 3 --products REVIT,ACAD --start 2027-02-01 --end 2027-04-30",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.EstimatePlan(cmd.Context(), &v1.EstimatePlanRequest{TeamId: args[0], Plan: spec})
			if err != nil {
				return err
			}
			t := estimateTable(resp.GetEstimate())
			t.note("%d tokens: %d users × %d days × the products' daily rates", resp.GetEstimate().GetTokens(),
				spec.GetUsers(), resp.GetEstimate().GetDaysPerUser())
			t.note("runs out without the plan: %s; with it: %s (available now %d tokens)",
				runOutText(resp.GetRunOutAtWithoutPlan()), runOutText(resp.GetRunOutAtWithPlan()), resp.GetTokensAvailable())
			return a.emit(cmd, resp, t)
		},
	}
	planFlags(cmd, a, spec)
	return cmd
}

func (a *app) plansAddCommand() *cobra.Command {
	spec := &v1.PlanSpec{}
	var id string
	cmd := &cobra.Command{
		Use:               "add TEAM",
		Short:             "Record a planned project of TEAM; the forecast adds it",
		Example:           "  tokenctl plans add design --name 'Bridge tender' --users 10 --days-per-week 3 --products REVIT --start 2027-02-01 --end 2027-04-30",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			req := &v1.AddPlannedProjectRequest{EventId: eventID(id), TeamId: args[0], Plan: spec}
			resp, err := client.AddPlannedProject(cmd.Context(), req)
			if err != nil {
				return retryHint(err, req.GetEventId())
			}
			t := planTable([]*v1.PlannedProject{resp.GetProject()})
			t.note("recorded as plan %s; 'tokenctl report forecast %s' includes it", resp.GetProject().GetPlanId(), args[0])
			return a.emit(cmd, resp, t)
		},
	}
	planFlags(cmd, a, spec)
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) plansRemoveCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:               "remove TEAM PLAN_ID",
		Short:             "Withdraw a planned project",
		Example:           "  tokenctl plans remove design 0b6c…",
		Args:              exactArgs("TEAM", "PLAN_ID"),
		ValidArgsFunction: completeArgs(a.teams, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			req := &v1.RemovePlannedProjectRequest{EventId: eventID(id), TeamId: args[0], PlanId: args[1]}
			resp, err := client.RemovePlannedProject(cmd.Context(), req)
			if err != nil {
				return retryHint(err, req.GetEventId())
			}
			t := newTable("TEAM", "PLAN_ID", "REMOVED")
			t.add(args[0], args[1], true)
			t.note("the forecast no longer adds it (event %s)", req.GetEventId())
			return a.emit(cmd, resp, t)
		},
	}
	eventFlag(cmd, &id)
	return cmd
}

func (a *app) plansListCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "list TEAM",
		Short:             "TEAM's planned projects with their estimates",
		Example:           "  tokenctl plans list design",
		Args:              exactArgs("TEAM"),
		ValidArgsFunction: completeArgs(a.teams),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			plans, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.PlannedProject, string, error) {
				resp, err := client.ListPlannedProjects(ctx, &v1.ListPlannedProjectsRequest{TeamId: args[0], PageSize: size, PageToken: token})
				return resp.GetProjects(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListPlannedProjectsResponse{Projects: plans}, planTable(plans))
		},
	}
}

func planTable(plans []*v1.PlannedProject) *table {
	t := newTable("PLAN_ID", "NAME", "USERS", "DAYS", "PRODUCTS", "START", "END", "TOKENS", "ADDED_BY")
	for _, p := range plans {
		s := p.GetSpec()
		days := fmt.Sprintf("%d/week", s.GetDaysPerWeek())
		if s.GetDays() > 0 {
			days = fmt.Sprintf("%d in all", s.GetDays())
		}
		t.add(p.GetPlanId(), s.GetName(), s.GetUsers(), days, s.GetProductCodes(), s.GetStartDate(), s.GetEndDate(),
			p.GetEstimate().GetTokens(), p.GetAddedBy())
	}
	return t
}

func estimateTable(e *v1.PlanEstimate) *table {
	t := newTable("PRODUCT", "DAILY_RATE", "USER_DAYS", "TOKENS")
	for _, p := range e.GetProducts() {
		t.add(p.GetProductCode(), p.GetDailyRate(), e.GetUserDays(), p.GetTokens())
	}
	return t
}

func runOutText(at *timestamppb.Timestamp) string {
	if at == nil {
		return "not before the live packs expire"
	}
	return cell(at)
}
