package tokenctl

import (
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) byUserCommand() *cobra.Command {
	var (
		s         scope
		limit     int32
		sort      string
		products  []string
		ascending bool
	)
	cmd := &cobra.Command{
		Use:     "by-user",
		Short:   "Tokens, days used, charges and sessions per user (top consumers first)",
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
			resp, err := client.GetUsageByUser(cmd.Context(), &v1.GetUsageByUserRequest{
				TeamIds: teams, Range: rng, Limit: limit, SortBy: by, ProductCodes: sortedSet(products), Ascending: ascending,
			})
			if err != nil {
				return err
			}
			t := newTable("USER", "TOKENS", "DAYS_USED", "CHARGES", "PRODUCTS", "LAST_USED", "DAYS_INACTIVE", "DOUBLE_CHARGE_DAYS",
				"SESSIONS", "OPEN_SESSIONS", "ACTIVE", "IDLE")
			for _, u := range resp.GetUsers() {
				t.add(u.GetUserId(), u.GetTokens(), u.GetDaysUsed(), u.GetCharges(), u.GetProductCodes(), u.GetLastUsedAt(), u.GetDaysInactive(),
					u.GetDoubleChargeDays(), u.GetSessions(), u.GetOpenSessions(), seconds(u.GetActiveSeconds()), seconds(u.GetIdleSeconds()))
			}
			t.note("%d users, %d tokens from %s to %s", resp.GetTotalUsers(), resp.GetTotalTokens(), resp.GetFromDate(), resp.GetToDate())
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	f := cmd.Flags()
	f.Int32Var(&limit, "limit", 0, "at most this many users (0: all); --limit 10 is the top 10")
	f.StringVar(&sort, "sort", "", "order by: "+joinNames(sortNames())+" (default tokens, highest first)")
	f.BoolVar(&ascending, "asc", false, "ascending order")
	f.StringSliceVar(&products, "product", nil, "only these products")
	completeFlag(cmd, "sort", fixed(sortNames()...))
	completeFlag(cmd, "product", a.products)
	return cmd
}

// seconds shows a duration in seconds as 3h25m0s.
func seconds(s int64) string {
	if s == 0 {
		return ""
	}
	return (time.Duration(s) * time.Second).String()
}
