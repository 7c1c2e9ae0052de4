package tokenctl

import (
	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) byProductCommand() *cobra.Command {
	var (
		s                  scope
		limit, userLimit   int32
		sort, group        string
		products           []string
		ascending, details bool
	)
	cmd := &cobra.Command{
		Use:   "by-product",
		Short: "Tokens, users and charges per product, with per-user detail on request",
		Long: `Tokens, users and charges per product in the range, highest first. --users adds
one row per product and user (the product's top users, --user-limit each).`,
		Example: "  tokenctl report by-product --range 6m --limit 5\n  tokenctl report by-product --product REVIT --users",
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
			resp, err := client.GetUsageByProduct(cmd.Context(), &v1.GetUsageByProductRequest{
				TeamIds: teams, Range: rng, Limit: limit, SortBy: by, ProductCodes: sortedSet(products),
				ProductGroup: group, UserLimit: userLimit, Ascending: ascending,
			})
			if err != nil {
				return err
			}
			var t *table
			if details {
				t = newTable("PRODUCT", "USER", "TOKENS", "DAYS_USED", "AVG_PER_MONTH")
				for _, p := range resp.GetProducts() {
					for _, u := range p.GetUserUsage() {
						t.add(p.GetProductCode(), u.GetUserId(), u.GetTokens(), u.GetDaysUsed(), u.GetAverageTokensPerMonth())
					}
				}
			} else {
				t = newTable("PRODUCT", "GROUP", "TOKENS", "USERS", "CHARGES", "AVG_PER_MONTH")
				for _, p := range resp.GetProducts() {
					t.add(p.GetProductCode(), p.GetProductGroup(), p.GetTokens(), p.GetUsers(), p.GetCharges(), p.GetAverageTokensPerMonth())
				}
			}
			t.note("%d tokens on %d products from %s to %s (%d months)", resp.GetTotalTokens(), resp.GetProductsUsed(),
				resp.GetFromDate(), resp.GetToDate(), resp.GetMonths())
			return a.emit(cmd, resp, t)
		},
	}
	a.scopeFlags(cmd, &s)
	f := cmd.Flags()
	f.Int32Var(&limit, "limit", 0, "at most this many products (0: all)")
	f.StringVar(&sort, "sort", "", "order by: "+joinNames(sortNames())+" (default tokens, highest first)")
	f.BoolVar(&ascending, "asc", false, "ascending order")
	f.StringSliceVar(&products, "product", nil, "only these products")
	f.StringVar(&group, "group", "", "only the products of this group")
	f.BoolVar(&details, "users", false, "one row per product and user")
	f.Int32Var(&userLimit, "user-limit", 0, "with --users, at most this many users per product (0: 100)")
	completeFlag(cmd, "sort", fixed(sortNames()...))
	completeFlag(cmd, "product", a.products)
	return cmd
}
