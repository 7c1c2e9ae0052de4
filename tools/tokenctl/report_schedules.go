package tokenctl

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) schedulesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "schedules",
		Aliases: []string{"schedule"},
		Short:   "List, create and delete reports e-mailed with their CSV or XLSX once a month or week",
		Long: `A schedule e-mails one report to up to 10 addresses once a period, through
the reporting service's SMTP server (-smtp-addr): the usage summary of the
past month or week with every charge attached, each team's forecast, or the
packs with unused tokens expiring within 90 days. The first report goes out
at once for the last complete period, then one each period (UTC), at most
once even across restarts and replicas.`,
	}
	cmd.AddCommand(a.schedulesListCommand(), a.schedulesCreateCommand(), a.schedulesDeleteCommand())
	return cmd
}

func schedulesTable(list []*v1.ReportSchedule) *table {
	t := newTable("SCHEDULE", "REPORT", "PERIOD", "FORMAT", "TEAMS", "RECIPIENTS", "CREATED_BY", "LAST_PERIOD", "LAST_STATE", "LAST_AT")
	for _, s := range list {
		t.add(s.GetScheduleId(), enumName(s.GetReport().String(), "SCHEDULED_REPORT_"), enumName(s.GetPeriod().String(), "SCHEDULE_PERIOD_"),
			enumName(s.GetFormat().String(), "EXPORT_FORMAT_"), strings.Join(s.GetTeamIds(), ","), strings.Join(s.GetRecipients(), ","),
			s.GetCreatedBy(), s.GetLastPeriod(), s.GetLastState(), s.GetLastAt())
	}
	return t
}

func (a *app) schedulesListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the organisation's report schedules and their last delivery",
		Example: "  tokenctl report schedules list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			list, err := allPages(cmd.Context(), a.o.pageSize, 0, func(ctx context.Context, size int32, token string) ([]*v1.ReportSchedule, string, error) {
				resp, err := client.ListReportSchedules(ctx, &v1.ListReportSchedulesRequest{PageSize: size, PageToken: token})
				return resp.GetSchedules(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return a.emit(cmd, &v1.ListReportSchedulesResponse{Schedules: list}, schedulesTable(list))
		},
	}
}

func (a *app) schedulesCreateCommand() *cobra.Command {
	var (
		id, period, format string
		teams, to          []string
	)
	reports := enumNames(v1.ScheduledReport_value, "SCHEDULED_REPORT_")
	cmd := &cobra.Command{
		Use:   "create REPORT --to ADDRESS...",
		Short: "Schedule a report (" + strings.Join(reports, ", ") + ") by e-mail",
		Example: `  tokenctl report schedules create usage-summary --to licences@example.com --period monthly --format xlsx
  tokenctl report schedules create expiring-packs --to cfo@example.com --team design --period weekly`,
		Args:              exactArgs("REPORT"),
		ValidArgsFunction: completeArgs(fixed(reports...)),
		RunE: func(cmd *cobra.Command, args []string) error {
			sch := &v1.ReportSchedule{ScheduleId: id, Recipients: to}
			var err error
			if sch.Report, err = parseEnum[v1.ScheduledReport]("REPORT", args[0], v1.ScheduledReport_value, "SCHEDULED_REPORT_"); err != nil {
				return err
			}
			if sch.Period, err = parseEnum[v1.SchedulePeriod]("--period", period, v1.SchedulePeriod_value, "SCHEDULE_PERIOD_"); err != nil {
				return err
			}
			if sch.Format, err = parseEnum[v1.ExportFormat]("--format", format, v1.ExportFormat_value, "EXPORT_FORMAT_"); err != nil {
				return err
			}
			if sch.TeamIds, err = a.teamsOrAll(cmd, teams); err != nil {
				return err
			}
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.CreateReportSchedule(cmd.Context(), &v1.CreateReportScheduleRequest{Schedule: sch})
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, schedulesTable([]*v1.ReportSchedule{resp.GetSchedule()}))
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&to, "to", nil, "recipients (1 to 10 addresses; repeat or comma-separate)")
	f.StringVar(&period, "period", "monthly", "monthly or weekly")
	f.StringVar(&format, "format", "csv", "attachment format: csv or xlsx")
	f.StringSliceVar(&teams, "team", nil, "only these teams (default: every team now)")
	f.StringVar(&id, "id", "", "schedule id (default: made up)")
	completeFlag(cmd, "team", a.teams)
	completeFlag(cmd, "period", fixed("monthly", "weekly"))
	completeFlag(cmd, "format", fixed("csv", "xlsx"))
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func (a *app) schedulesDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete SCHEDULE_ID",
		Short:   "Delete a report schedule",
		Example: "  tokenctl report schedules delete rs-3kq9z0abcd12",
		Args:    exactArgs("SCHEDULE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.reportingClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.DeleteReportSchedule(cmd.Context(), &v1.DeleteReportScheduleRequest{ScheduleId: args[0]})
			if err != nil {
				return err
			}
			t := newTable("SCHEDULE", "DELETED")
			t.add(args[0], true)
			return a.emit(cmd, resp, t)
		},
	}
}
