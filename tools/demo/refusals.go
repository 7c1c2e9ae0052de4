package demo

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// addPacks buys the demo's packs, in two currencies at different prices.
// design's EUR project pack expires at projectEnds, seconds after the load
// starts (the ledger refuses a pack already expired): the history spends
// it first, being the first to expire, and what is left of it expires
// unused, so the money report has spend, expired value and value left.
func addPacks(ctx context.Context, ledger v1.LedgerServiceClient, now, start, projectEnds time.Time) error {
	packs := []struct {
		team, id string
		tokens   int64
		price    int64
		currency string
		source   v1.PackSource
		bought   time.Time
		expires  time.Time
	}{
		{"design", "design-2025-q4", 1500, 3_000_000, "USD", v1.PackSource_PACK_SOURCE_PURCHASE, now.AddDate(0, -10, 0), time.Time{}},
		{"design", "design-2026-q2", 3000, 2_750_000, "USD", v1.PackSource_PACK_SOURCE_TRUE_UP, now.AddDate(0, -4, 0), time.Time{}},
		{"design", "design-project-eur", 2500, 2_400_000, "EUR", v1.PackSource_PACK_SOURCE_PURCHASE, start.AddDate(0, 0, -1), projectEnds},
		{"civil", "civil-2026", 1200, 2_500_000, "USD", v1.PackSource_PACK_SOURCE_PURCHASE, now.AddDate(0, -3, 0), time.Time{}},
	}
	for _, p := range packs {
		req := &v1.AddPackRequest{
			EventId: "demo-pack-" + p.id, TeamId: p.team, PackId: p.id, Tokens: p.tokens, UnitPriceMicros: p.price, Currency: p.currency,
			PurchasedAt: timestamppb.New(p.bought), Source: p.source, Reason: "demo purchase",
		}
		if !p.expires.IsZero() {
			req.ExpiresAt = timestamppb.New(p.expires)
		}
		if _, err := ledger.AddPack(ctx, req); err != nil {
			return fmt.Errorf("pack %s: %w", p.id, err)
		}
	}
	return nil
}

// The refusal scenarios: kai may use Civil 3D only, under a hard monthly
// budget of 20 tokens; zoe was never assigned; VRED costs more than the
// civil pool holds; MAYA is not in the catalog.
const (
	vredRate   = 5000
	kaiBudget  = 20
	refusalsAt = 18 * time.Hour // after each day's other launches
)

// setUpRefusals sets what the refusal scenarios need.
func setUpRefusals(ctx context.Context, ledger v1.LedgerServiceClient, start time.Time) error {
	if _, err := ledger.SetProductRate(ctx, &v1.SetProductRateRequest{
		EventId: "demo-rate-VRED", ProductCode: "VRED", Name: "VRED Professional", Group: "VRED", DailyRate: vredRate,
		EffectiveFrom: timestamppb.New(start.AddDate(-1, 0, 0)),
	}); err != nil {
		return fmt.Errorf("rate VRED: %w", err)
	}
	if _, err := ledger.AssignUser(ctx, &v1.AssignUserRequest{EventId: "demo-assign-civil-kai", TeamId: "civil", UserId: "kai", ProductCodes: []string{"CIVIL3D"}}); err != nil {
		return fmt.Errorf("assign kai: %w", err)
	}
	if _, err := ledger.SetBudget(ctx, &v1.SetBudgetRequest{EventId: "demo-budget-kai", TeamId: "civil", Budget: &v1.Budget{
		BudgetId: "kai-monthly", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "kai", LimitTokens: kaiBudget,
		Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH, Hard: true,
	}}); err != nil {
		return fmt.Errorf("budget of kai: %w", err)
	}
	return nil
}

// refusals sends day's scenario launches, most of which the ledger refuses
// (each reason on its own weekday), and returns how many it sent.
func refusals(ctx context.Context, svc v1.LedgerServiceClient, day time.Time) (int, error) {
	type try struct{ team, user, product string }
	tries := []try{{"civil", "kai", "CIVIL3D"}} // charged until the budget is spent
	switch day.Weekday() {
	case time.Monday:
		tries = append(tries, try{"design", "zoe", "REVIT"})
	case time.Tuesday:
		tries = append(tries, try{"civil", "kai", "3DSMAX"})
	case time.Wednesday:
		tries = append(tries, try{"civil", "hana", "VRED"})
	case time.Thursday:
		tries = append(tries, try{"design", "ann", "MAYA"})
	}
	for i, t := range tries {
		_, err := svc.Authorize(ctx, &v1.AuthorizeRequest{
			Launch: &v1.LaunchRequest{
				EventId: fmt.Sprintf("demo-refusal-%s-%s-%s-%s", t.team, t.user, t.product, day.Format("20060102")),
				TeamId:  t.team, UserId: t.user, ProductCode: t.product, ProductVersion: "2026", DeviceId: t.user + "-laptop",
				Attributes: map[string]string{"project": "P-100"},
			},
			ReceivedAt: timestamppb.New(day.Add(refusalsAt + time.Duration(i)*time.Minute)),
		})
		if err != nil {
			return i, fmt.Errorf("launch %s %s: %w", t.user, t.product, err)
		}
	}
	return len(tries), nil
}

// recordProjectExpiry waits for design's project pack to expire, then sends
// one launch at the present (zoe's, refused) so the ledger records the
// expiry now rather than at its next sweep: the demo's figures are then
// final when Load returns.
func recordProjectExpiry(ctx context.Context, svc v1.LedgerServiceClient, projectEnds time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(projectEnds) + 100*time.Millisecond):
	}
	_, err := svc.Authorize(ctx, &v1.AuthorizeRequest{
		Launch: &v1.LaunchRequest{
			EventId: "demo-refusal-design-zoe-expiry-" + projectEnds.UTC().Format("20060102T150405"),
			TeamId:  "design", UserId: "zoe", ProductCode: "REVIT", ProductVersion: "2026", DeviceId: "zoe-laptop",
		},
		ReceivedAt: timestamppb.New(time.Now()),
	})
	if err != nil {
		return fmt.Errorf("launch after the project pack's expiry: %w", err)
	}
	return nil
}
