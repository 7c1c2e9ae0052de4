package tokenctl

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// userPageSize is how many users one call reads when walking every page.
const userPageSize = 1000

func (a *app) byUserCommand() *cobra.Command {
	var (
		s         scope
		limit     int32
		pageSize  int32
		sort      string
		products  []string
		ascending bool
	)
	cmd := &cobra.Command{
		Use:   "by-user",
		Short: "Tokens, days used, days since last use, charges and sessions per user (top consumers first)",
		Long: `Per user: tokens, days used, the days since the last use (from the last charge
to the end of the range, or to today), the days of the range without use,
charges, double-charge days and sessions. Without --limit every user is listed,
read page by page; with -o json the answer is one GetUsageByUserResponse
holding every page read.`,
		Example: "  tokenctl report by-user --range this-month --limit 10\n  tokenctl report by-user --sort last-used --asc",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, teams, rng, err := a.reportScope(cmd, &s)
			if err != nil {
				return err
			}
			by, err := sortBy(sort)
			if err != nil {
				return err
			}
			if pageSize <= 0 {
				return fmt.Errorf("--page-size must be positive")
			}
			req := &v1.GetUsageByUserRequest{TeamIds: teams, Range: rng, SortBy: by, ProductCodes: sortedSet(products), Ascending: ascending}
			resp, err := userPages(cmd.Context(), client, req, limit, pageSize)
			if err != nil {
				return err
			}
			t := newTable("USER", "TOKENS", "DAYS_USED", "CHARGES", "PRODUCTS", "LAST_USED", "DAYS_SINCE_LAST_USE", "DAYS_WITHOUT_USE",
				"DOUBLE_CHARGE_DAYS", "SESSIONS", "OPEN_SESSIONS", "ACTIVE", "IDLE")
			for _, u := range resp.GetUsers() {
				t.add(u.GetUserId(), u.GetTokens(), u.GetDaysUsed(), u.GetCharges(), u.GetProductCodes(), u.GetLastUsedAt(), u.GetDaysSinceLastUse(),
					u.GetDaysInactive(), u.GetDoubleChargeDays(), u.GetSessions(), u.GetOpenSessions(), seconds(u.GetActiveSeconds()), seconds(u.GetIdleSeconds()))
			}
			t.note("%d users, %d tokens from %s to %s; DAYS_WITHOUT_USE counts the days of that range without a charge",
				resp.GetTotalUsers(), resp.GetTotalTokens(), resp.GetFromDate(), resp.GetToDate())
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	f := cmd.Flags()
	f.Int32Var(&limit, "limit", 0, "at most this many users (0: all); --limit 10 is the top 10")
	f.Int32Var(&pageSize, "page-size", userPageSize, "users read per call while walking the pages (at most 10000)")
	f.StringVar(&sort, "sort", "", "order by: "+joinNames(sortNames())+" (default tokens, highest first)")
	f.BoolVar(&ascending, "asc", false, "ascending order")
	f.StringSliceVar(&products, "product", nil, "only these products")
	completeFlag(cmd, "sort", fixed(sortNames()...))
	completeFlag(cmd, "product", a.products)
	return cmd
}

// userPages reads req's users page by page until limit (0: every user) and
// returns them as one answer.
func userPages(ctx context.Context, client v1.ReportingServiceClient, req *v1.GetUsageByUserRequest, limit, pageSize int32) (*v1.GetUsageByUserResponse, error) {
	var all *v1.GetUsageByUserResponse
	for {
		req.Limit = pageSize
		if limit > 0 {
			req.Limit = min(pageSize, limit-int32(len(all.GetUsers())))
		}
		resp, err := client.GetUsageByUser(ctx, req)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = resp
		} else {
			all.Users = append(all.Users, resp.GetUsers()...)
		}
		req.PageToken, all.NextPageToken = resp.GetNextPageToken(), ""
		if req.PageToken == "" || len(resp.GetUsers()) == 0 || (limit > 0 && int32(len(all.Users)) >= limit) {
			return all, nil
		}
	}
}

// seconds shows a duration in seconds as 3h25m0s.
func seconds(s int64) string {
	if s == 0 {
		return ""
	}
	return (time.Duration(s) * time.Second).String()
}
