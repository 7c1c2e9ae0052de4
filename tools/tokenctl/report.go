package tokenctl

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) reportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "report",
		Aliases: []string{"reports"},
		Short:   "Usage reports: summary, by day, product, user or attribute; denials; spend; sessions; forecast; licensing advice; subscriptions",
		Long: `Reports come from the reporting service's ClickHouse projections of the event
log (usage is reported on the day its window started, in UTC). Choose the days
with --range (` + strings.Join(rangeNames(), ", ") + `; the short forms
3m, 6m, 9m and 12m work too; default last-12-months) or with --from/--to dates,
and the teams with --team (default: every team of the organisation).`,
	}
	cmd.AddCommand(a.summaryCommand(), a.byDayCommand(), a.byProductCommand(), a.byUserCommand(), a.byAttributeCommand(), a.denialsCommand(), a.spendCommand(), a.sessionsCommand(),
		a.forecastCommand(), a.adviceCommand(), a.subscriptionUsageCommand(), a.schedulesCommand())
	return cmd
}

// scope is the teams and days of a report.
type scope struct {
	teams         []string
	rng, from, to string
}

func (a *app) scopeFlags(cmd *cobra.Command, s *scope) {
	f := cmd.Flags()
	f.StringSliceVar(&s.teams, "team", nil, "only these teams (repeat or comma-separate; default: all)")
	f.StringVar(&s.rng, "range", "", "days: "+strings.Join(rangeNames(), ", ")+" (or 3m, 6m, 9m, 12m; default last-12-months)")
	f.StringVar(&s.from, "from", "", "first day, YYYY-MM-DD (instead of --range)")
	f.StringVar(&s.to, "to", "", "last day, YYYY-MM-DD (default: today, with --from)")
	completeFlag(cmd, "team", a.teams)
	completeFlag(cmd, "range", fixed(rangeNames()...))
}

// rangeNames are the presets of the reporting API: RANGE_PRESET_LAST_3_MONTHS
// is "last-3-months".
func rangeNames() []string { return enumNames(v1.RangePreset_value, "RANGE_PRESET_") }

var rangeAliases = map[string]string{"3m": "last-3-months", "6m": "last-6-months", "9m": "last-9-months", "12m": "last-12-months"}

// usageRange is the range the flags say, checked before any call.
func (s *scope) usageRange() (*v1.UsageRange, error) {
	if s.rng != "" && (s.from != "" || s.to != "") {
		return nil, fmt.Errorf("give --range or --from/--to, not both")
	}
	if s.to != "" && s.from == "" {
		return nil, fmt.Errorf("--to needs --from, the first day")
	}
	if s.rng == "" {
		return &v1.UsageRange{FromDate: s.from, ToDate: s.to}, nil
	}
	name := strings.ToLower(s.rng)
	if alias, ok := rangeAliases[name]; ok {
		name = alias
	}
	p, err := parseEnum[v1.RangePreset]("--range", name, v1.RangePreset_value, "RANGE_PRESET_")
	if err != nil {
		return nil, fmt.Errorf("%w (or 3m, 6m, 9m, 12m), or give --from/--to dates", err)
	}
	return &v1.UsageRange{Preset: p}, nil
}

func (s *scope) teamIDs() []string { return sortedSet(s.teams) }

// reportScope is the reporting client, teams and range of a report: the range
// checked before any call, the teams as given or, without --team, every team
// of the organisation (the reporting API wants them named).
func (a *app) reportScope(cmd *cobra.Command, s *scope) (v1.ReportingServiceClient, []string, *v1.UsageRange, error) {
	rng, err := s.usageRange()
	if err != nil {
		return nil, nil, nil, err
	}
	teams, err := a.teamsOrAll(cmd, s.teams)
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := a.reportingClient(cmd)
	return client, teams, rng, err
}

// teamsOrAll is teams, or every team of the organisation, as the ledger
// lists them, when none is given.
func (a *app) teamsOrAll(cmd *cobra.Command, teams []string) ([]string, error) {
	if ids := sortedSet(teams); len(ids) > 0 {
		return ids, nil
	}
	client, err := a.ledgerClient(cmd)
	if err != nil {
		return nil, err
	}
	resp, err := a.listTeams(cmd.Context(), client)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(resp.GetTeams()))
	for _, b := range resp.GetTeams() {
		ids = append(ids, b.GetTeamId())
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("your organisation has no teams yet: add a pack with 'tokenctl packs add'")
	}
	return ids, nil
}

// sortFlag parses --sort into the reporting API's SortBy.
func sortBy(s string) (v1.SortBy, error) {
	if s == "" {
		return v1.SortBy_SORT_BY_UNSPECIFIED, nil
	}
	return parseEnum[v1.SortBy]("--sort", s, v1.SortBy_value, "SORT_BY_")
}

func sortNames() []string { return enumNames(v1.SortBy_value, "SORT_BY_") }

func joinNames(names []string) string { return strings.Join(names, ", ") }
