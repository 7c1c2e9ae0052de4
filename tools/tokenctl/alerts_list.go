package tokenctl

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) alertsListCommand() *cobra.Command {
	var (
		teams   []string
		limit   int32
		since   string
		unacked bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the latest alerts, newest first",
		Example: `  tokenctl alerts list
  tokenctl alerts list --team design --since 24h --unacked
  tokenctl alerts list -o json --limit 500 --since 2026-03-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return fmt.Errorf("invalid --limit %d: want 0 (every alert) or more", limit)
			}
			req := &v1.ListAlertsRequest{TeamIds: sortedSet(teams), UnacknowledgedOnly: unacked}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				req.Since = timestamppb.New(t)
			}
			client, err := a.alertingClient(cmd)
			if err != nil {
				return err
			}
			alerts, err := allPages(cmd.Context(), a.o.pageSize, int(limit), func(ctx context.Context, size int32, token string) ([]*v1.Alert, string, error) {
				req.Limit, req.PageToken = size, token
				resp, err := client.ListAlerts(ctx, req)
				return resp.GetAlerts(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			resp := &v1.ListAlertsResponse{Alerts: alerts}
			if a.settings.Output == outputJSON {
				out := make([]alertJSON, 0, len(resp.GetAlerts()))
				for _, al := range resp.GetAlerts() {
					out = append(out, toJSON(al))
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			if len(resp.GetAlerts()) == 0 && a.settings.Output == outputTable {
				fmt.Fprintln(cmd.ErrOrStderr(), "no alerts")
				return nil
			}
			return a.printRows(cmd, alertsTable(resp.GetAlerts()))
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&teams, "team", nil, "only these teams (repeat or comma-separate)")
	f.Int32Var(&limit, "limit", 50, "at most this many alerts, read page by page (0: every one)")
	f.StringVar(&since, "since", "", "only alerts raised since: a duration back from now (24h, 7d) or a date/time (2026-03-01, RFC 3339)")
	f.BoolVar(&unacked, "unacked", false, "only alerts nobody acknowledged yet")
	return cmd
}

// parseSince reads "90m", "24h", "7d", "2026-03-01" or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == days {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid --since %q: give a duration back from now (90m, 24h, 7d), a date (2026-03-01) or an RFC 3339 time", s)
}
