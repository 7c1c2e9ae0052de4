package demo

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The survey team has more than a year of history with a season, so its
// forecast is seasonal: sam, tia and uma use Fusion every working day, but
// in August only sam works (the summer dip) and in December vic, wes and
// xia join for the year-end rush (the peak).
const (
	SeasonalTeam = "survey"
	// seasonalDays reaches the first day of the last-12-months range, the
	// history a seasonal forecast needs, and no further, so that range's
	// reports hold all the demo's use.
	seasonalDays = 364
)

var (
	surveyCrew     = []string{"sam", "tia", "uma"}
	surveyDecember = []string{"vic", "wes", "xia"}
)

// surveyUsers are who launch Fusion on day.
func surveyUsers(day time.Time) []string {
	switch day.Month() {
	case time.August:
		return surveyCrew[:1]
	case time.December:
		return append(append([]string{}, surveyCrew...), surveyDecember...)
	}
	return surveyCrew
}

// loadSurvey writes the survey team's pack (a multi-year contract, bought
// before its history starts), assignments and launches, and returns how
// many launches it sent.
func loadSurvey(ctx context.Context, ledger, svc v1.LedgerServiceClient, now time.Time) (int, error) {
	today := now.Truncate(24 * time.Hour)
	start := today.AddDate(0, 0, -seasonalDays)
	if _, err := ledger.AddPack(ctx, &v1.AddPackRequest{
		EventId: "demo-pack-survey-contract", TeamId: SeasonalTeam, PackId: "survey-contract", Tokens: 4000, UnitPriceMicros: 2_900_000,
		Currency: "USD", PurchasedAt: timestamppb.New(start.AddDate(0, 0, -1)), ExpiresAt: timestamppb.New(today.AddDate(0, 6, 0)),
		Source: v1.PackSource_PACK_SOURCE_PURCHASE, Reason: "demo purchase: two-year contract",
	}); err != nil {
		return 0, fmt.Errorf("pack survey-contract: %w", err)
	}
	for _, user := range append(append([]string{}, surveyCrew...), surveyDecember...) {
		if _, err := ledger.AssignUser(ctx, &v1.AssignUserRequest{EventId: "demo-assign-survey-" + user, TeamId: SeasonalTeam,
			UserId: user, ProductCodes: []string{"FUSION"}}); err != nil {
			return 0, fmt.Errorf("assign %s: %w", user, err)
		}
	}
	launches := 0
	for day := start; day.Before(today); day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); (wd == time.Saturday || wd == time.Sunday) && !day.Equal(start) {
			continue
		}
		for _, user := range surveyUsers(day) {
			launches++
			if _, err := svc.Authorize(ctx, &v1.AuthorizeRequest{
				Launch: &v1.LaunchRequest{
					EventId: fmt.Sprintf("demo-survey-%s-%s", user, day.Format("20060102")),
					TeamId:  SeasonalTeam, UserId: user, ProductCode: "FUSION", ProductVersion: "2026", DeviceId: user + "-laptop",
				},
				ReceivedAt: timestamppb.New(day.Add(8 * time.Hour)),
			}); err != nil {
				return launches, fmt.Errorf("launch %s: %w", user, err)
			}
		}
	}
	return launches, nil
}
