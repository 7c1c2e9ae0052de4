package tokenctl

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// sessionViews are the tables `report sessions --show` prints.
var sessionViews = []string{"products", "peaks", "devices", "open", "brief"}

func (a *app) sessionsCommand() *cobra.Command {
	var (
		s                     scope
		show                  string
		prods                 []string
		briefMinutes, devices int32
		limit, pageSize       int
	)
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "How long products stayed open and idle, who has what open now, peak concurrent users, devices, brief charges",
		Long: `Reads the launcher sessions with events in the range and shows one table
(--show): per product the open, active and idle time and the highest daily
peak of concurrent users (products); that peak per product and day (peaks);
use per device (devices); the sessions open now, whatever the range (open);
or the charges of windows whose sessions were open less than --brief-minutes
in all: a day's tokens for a brief use (brief, newest first, read page by
page up to --limit). With -o json the answer is one GetSessionsResponse
holding every table and every brief charge read.`,
		Example: `  tokenctl report sessions --range this-month
  tokenctl report sessions --show open
  tokenctl report sessions --show brief --brief-minutes 15 -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(sessionViews, show) {
				return fmt.Errorf("--show must be one of %s", joinNames(sessionViews))
			}
			if pageSize < 1 || pageSize > 1000 {
				return fmt.Errorf("--page-size must be 1 to 1000")
			}
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			req := &v1.GetSessionsRequest{TeamIds: teams, Range: rng, ProductCodes: sortedSet(prods),
				BriefMinutes: briefMinutes, DeviceLimit: devices}
			resp, err := sessionPages(cmd.Context(), client, req, show == "brief", limit, pageSize)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, sessionsTable(resp, show))
		},
	}
	a.scopeFlags(cmd, &s)
	f := cmd.Flags()
	f.StringVar(&show, "show", "products", "the table: "+joinNames(sessionViews))
	f.StringSliceVar(&prods, "product", nil, "only these products")
	f.Int32Var(&briefMinutes, "brief-minutes", 0, "a charged window open less than this many minutes in all is brief (0: the server's 30; at most 1440)")
	f.Int32Var(&devices, "devices", 0, "devices listed, most open time first (0: 100; at most 1000)")
	f.IntVar(&limit, "limit", 0, "with --show brief: at most this many charges (0: all)")
	f.IntVar(&pageSize, "page-size", 1000, "brief charges read per call while walking the pages (at most 1000)")
	completeFlag(cmd, "show", fixed(sessionViews...))
	completeFlag(cmd, "product", a.products)
	return cmd
}

// sessionPages reads the report and, with brief, every brief charge up to
// limit (0: all) as one answer; without brief, the first page only.
func sessionPages(ctx context.Context, c v1.ReportingServiceClient, req *v1.GetSessionsRequest, brief bool, limit, pageSize int) (*v1.GetSessionsResponse, error) {
	var first *v1.GetSessionsResponse
	most := limit
	if !brief {
		most = 1
	}
	charges, err := allPages(ctx, pageSize, most, func(ctx context.Context, size int32, token string) ([]*v1.BriefCharge, string, error) {
		req.PageSize, req.PageToken = size, token
		resp, err := c.GetSessions(ctx, req)
		if first == nil {
			first = resp
		}
		return resp.GetBrief(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	first.Brief, first.NextPageToken = charges, ""
	return first, nil
}
