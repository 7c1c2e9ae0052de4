package demo

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// PlanID is the demo's planned project (its event id, so a rerun records
// it once): design's bridge tender, 6 people on Revit and AutoCAD 3 days a
// week for 8 weeks from the Monday two weeks on, which the Planning page and
// the forecast add.
const PlanID = "demo-plan-bridge-tender"

// BridgeTender is the demo plan's spec, starting from now.
func BridgeTender(now time.Time) *v1.PlanSpec {
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 14)
	for start.Weekday() != time.Monday {
		start = start.AddDate(0, 0, 1)
	}
	return &v1.PlanSpec{Name: "Bridge tender", Users: 6, DaysPerWeek: 3, ProductCodes: []string{"REVIT", "ACAD"},
		StartDate: start.Format(time.DateOnly), EndDate: start.AddDate(0, 0, 8*7-1).Format(time.DateOnly)}
}

// LoadPlans records the demo's planned project through reporting (an admin
// connection), once reporting has projected the products' rates it checks
// the plan against (at most wait).
func LoadPlans(ctx context.Context, reporting *grpc.ClientConn, now time.Time, wait time.Duration) error {
	client := v1.NewReportingServiceClient(reporting)
	spec := BridgeTender(now)
	deadline := time.Now().Add(wait)
	for {
		_, err := client.EstimatePlan(ctx, &v1.EstimatePlanRequest{TeamId: "design", Plan: spec})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo plan: reporting has not checked it in %s: %w", wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if _, err := client.AddPlannedProject(ctx, &v1.AddPlannedProjectRequest{EventId: PlanID, TeamId: "design", Plan: spec}); err != nil {
		return fmt.Errorf("demo plan: %w", err)
	}
	return nil
}
