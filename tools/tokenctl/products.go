package tokenctl

import (
	"cmp"

	"github.com/spf13/cobra"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) productsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "products",
		Short: "List products with their daily rates; set a rate from a date",
		Long: `A product's daily rate is what one 24-hour usage window costs. Rates are
effective-dated: a new rate applies to windows opened from its date on.`,
	}
	cmd.AddCommand(a.productsListCommand(), a.productsSetRateCommand())
	return cmd
}

func (a *app) productsListCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the catalog: code, name, group and current daily rate",
		Example: "  tokenctl products list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			resp, err := a.listProducts(cmd.Context(), client)
			if err != nil {
				return err
			}
			return a.emit(cmd, resp, productsTable(resp.GetProducts()))
		},
	}
}

func productsTable(products []*v1.Product) *table {
	t := newTable("PRODUCT", "NAME", "GROUP", "DAILY_RATE", "EFFECTIVE_FROM")
	for _, p := range products {
		t.add(p.GetProductCode(), p.GetName(), p.GetGroup(), p.GetDailyRate(), p.GetEffectiveFrom())
	}
	return t
}

func (a *app) productsSetRateCommand() *cobra.Command {
	var name, group, effective, id string
	cmd := &cobra.Command{
		Use:   "set-rate PRODUCT RATE",
		Short: "Set a product's daily rate in tokens, from now or from a date",
		Long: `Set PRODUCT's daily rate to RATE tokens (and its name and group, when given).
The rate applies to windows opened from --effective on (default: now); windows
already open keep the rate they were charged. A name or group not given stays
as the catalog has it.`,
		Example: `  tokenctl products set-rate REVIT 10 --name Revit --group Revit
  tokenctl products set-rate ACAD 8 --effective 2026-07-01`,
		Args:              exactArgs("PRODUCT", "RATE"),
		ValidArgsFunction: completeArgs(a.products, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			rate, err := parseTokens("RATE", args[1])
			if err != nil {
				return err
			}
			from, err := parseWhen("--effective", effective)
			if err != nil {
				return err
			}
			client, err := a.ledgerClient(cmd)
			if err != nil {
				return err
			}
			if name == "" || group == "" {
				// Keep what the catalog has: the ledger takes an empty name
				// or group as a change.
				list, err := a.listProducts(cmd.Context(), client)
				if err != nil {
					return err
				}
				for _, p := range list.GetProducts() {
					if p.GetProductCode() == args[0] {
						name, group = cmp.Or(name, p.GetName()), cmp.Or(group, p.GetGroup())
					}
				}
			}
			id = eventID(id)
			resp, err := client.SetProductRate(cmd.Context(), &v1.SetProductRateRequest{
				EventId: id, ProductCode: args[0], Name: name, Group: group, DailyRate: rate, EffectiveFrom: from,
			})
			if err != nil {
				return retryHint(err, id)
			}
			return a.emit(cmd, resp, productsTable([]*v1.Product{resp.GetProduct()}))
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "product name, e.g. \"Revit\"")
	f.StringVar(&group, "group", "", "product group, e.g. \"AutoCAD\" for the AutoCAD toolsets")
	f.StringVar(&effective, "effective", "", "when the rate starts: a date (2026-07-01, midnight UTC) or an RFC 3339 time (default: now)")
	eventFlag(cmd, &id)
	return cmd
}
