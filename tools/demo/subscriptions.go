package demo

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The hybrid model of the seeds: the studio team's daily Revit users. max
// has opened Revit on tokens every working day for six months, so the
// licensing advice says to move him to a named subscription (the console's
// Advice page and `tokenctl advice apply studio max` do it in one step);
// lee was moved already: she holds a named subscription for Revit, so her
// Revit launches of the last weeks never touched the pool, while her
// occasional AutoCAD stays on tokens.
const (
	StudioTeam     = "studio"
	studioDays     = 182
	subscribedDays = 30
)

// loadStudio writes the studio's pack, users, lee's subscription and their
// history up to now, and returns how many launches it sent.
func loadStudio(ctx context.Context, ledger, svc v1.LedgerServiceClient, now time.Time) (int, error) {
	if _, err := ledger.AddPack(ctx, &v1.AddPackRequest{
		EventId: "demo-pack-studio-2026", TeamId: StudioTeam, PackId: "studio-2026", Tokens: 2500, UnitPriceMicros: 3_000_000,
		Currency: "USD", PurchasedAt: timestamppb.New(now.AddDate(0, -7, 0)), Source: v1.PackSource_PACK_SOURCE_PURCHASE, Reason: "demo purchase",
	}); err != nil {
		return 0, fmt.Errorf("pack studio-2026: %w", err)
	}
	for user, products := range map[string][]string{"max": {"REVIT"}, "lee": {"REVIT", "ACAD"}} {
		if _, err := ledger.AssignUser(ctx, &v1.AssignUserRequest{EventId: "demo-assign-studio-" + user, TeamId: StudioTeam, UserId: user, ProductCodes: products}); err != nil {
			return 0, fmt.Errorf("assign %s: %w", user, err)
		}
	}
	if _, err := ledger.GrantSubscription(ctx, &v1.GrantSubscriptionRequest{
		EventId: "demo-subscription-studio-lee", TeamId: StudioTeam, UserId: "lee", ProductCodes: []string{"REVIT"},
		Reason: "moved to a named subscription on the licensing advice",
	}); err != nil {
		return 0, fmt.Errorf("subscription of lee: %w", err)
	}
	launches := 0
	today := now.Truncate(24 * time.Hour)
	for day := today.AddDate(0, 0, -studioDays); day.Before(today); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		tries := []struct{ user, product string }{{"max", "REVIT"}}
		if today.Sub(day) <= subscribedDays*24*time.Hour {
			tries = append(tries, struct{ user, product string }{"lee", "REVIT"})
			if day.Weekday() == time.Wednesday {
				tries = append(tries, struct{ user, product string }{"lee", "ACAD"})
			}
		}
		for _, tr := range tries {
			launches++
			if _, err := svc.Authorize(ctx, &v1.AuthorizeRequest{
				Launch: &v1.LaunchRequest{
					EventId: fmt.Sprintf("demo-studio-%s-%s-%s", tr.user, tr.product, day.Format("20060102")),
					TeamId:  StudioTeam, UserId: tr.user, ProductCode: tr.product, ProductVersion: "2026", DeviceId: tr.user + "-workstation",
				},
				ReceivedAt: timestamppb.New(day.Add(9 * time.Hour)),
			}); err != nil {
				return launches, fmt.Errorf("launch %s %s: %w", tr.user, tr.product, err)
			}
		}
	}
	return launches, nil
}
