package rules

import (
	"fmt"
	"strings"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// multiProduct raises multi_product once per user and day when the user
// opens the configured number of different products (2) on one day: each
// costs a full daily rate.
func multiProduct(f *fold) []*v1.Alert {
	cfg := f.cfg.MultiProduct
	if f.userID == "" || f.product == "" || !cfg.Enabled {
		return nil
	}
	u := f.t.users[f.userID]
	if u.multiFired || len(u.products) < cfg.ProductsPerDay {
		return nil
	}
	u.multiFired = true
	d := dateOf(u.productsDay)
	msg := fmt.Sprintf("%s of team %s opened %d products on %s (%s); each costs a full daily rate",
		f.userID, f.raise.team, len(u.products), d, strings.Join(u.products, ", "))
	return []*v1.Alert{f.alert(KindMultiProduct, v1.Severity_SEVERITY_INFO, msg, map[string]float64{
		"products": float64(len(u.products)),
	}, f.userID, d)}
}
