package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Capacity products of the demo (seed 004): design's monthly API allowance,
// whose term ends CapacityTermDays after the load's day, used on working
// days of the history; and floating seats, four of five checked out now, so
// that card is red.
const (
	CapacityAPI      = "API-UNITS"
	CapacitySeats    = "FLOAT-SEAT"
	CapacityTermDays = 45
	apiUnits         = 5000
	seats            = 5
)

// loadCapacity sets the capacity products and their history; uses are at
// most 2 × 100 units a day, so a month never runs out of its 5,000.
func loadCapacity(ctx, sctx context.Context, ledger, svc v1.LedgerServiceClient, now, start time.Time) error {
	today := now.UTC().Truncate(24 * time.Hour)
	startDay := start.Format("20060102")
	for _, c := range []*v1.SetCapacityRequest{
		{EventId: "demo-capacity-" + CapacityAPI + "-" + startDay, TeamId: "design", ProductCode: CapacityAPI,
			Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Units: apiUnits, EndsAt: timestamppb.New(today.AddDate(0, 0, CapacityTermDays))},
		{EventId: "demo-capacity-" + CapacitySeats + "-" + startDay, TeamId: "design", ProductCode: CapacitySeats,
			Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: seats},
	} {
		if _, err := ledger.SetCapacity(ctx, c); err != nil {
			return fmt.Errorf("capacity %s: %w", c.GetProductCode(), err)
		}
	}
	rng := rand.New(rand.NewPCG(4, 2))
	users := Teams["design"]
	// The ledger records uses at most 400 days back.
	first := start
	if yearAgo := today.AddDate(-1, 0, 0); first.Before(yearAgo) {
		first = yearAgo
	}
	for day := first; day.Before(today); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for i := range 1 + rng.IntN(2) {
			u := users[rng.IntN(len(users))]
			if _, err := ledger.UseCapacity(ctx, &v1.UseCapacityRequest{
				EventId: fmt.Sprintf("demo-capacity-use-%s-%d", day.Format("20060102"), i), TeamId: "design", ProductCode: CapacityAPI,
				Units: int64(20 + rng.IntN(81)), UserId: u, ReceivedAt: timestamppb.New(day.Add(10*time.Hour + time.Duration(i)*3*time.Hour)),
			}); err != nil {
				return fmt.Errorf("use %s: %w", CapacityAPI, err)
			}
		}
	}
	for i, u := range users[:seats-1] {
		if _, err := ledger.UseCapacity(ctx, &v1.UseCapacityRequest{
			EventId: fmt.Sprintf("demo-capacity-seat-%s-%d", startDay, i), TeamId: "design", ProductCode: CapacitySeats, Units: 1, UserId: u,
		}); err != nil {
			return fmt.Errorf("check out %s: %w", CapacitySeats, err)
		}
	}
	return nil
}
