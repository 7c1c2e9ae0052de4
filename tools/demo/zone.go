package demo

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Zone is the demo organisation's time zone: its report days are Berlin's
// dates, while windows and expiry keep UTC.
const Zone = "Europe/Berlin"

// setZone sets the organisation's time zone, once (a fixed event id).
func setZone(ctx context.Context, ledger v1.LedgerServiceClient) error {
	if _, err := ledger.SetTimeZone(ctx, &v1.SetTimeZoneRequest{Zone: Zone, EventId: "demo-time-zone"}); err != nil {
		return fmt.Errorf("time zone: %w", err)
	}
	return nil
}

// nightOwl works late on Fridays: a launch at 23:30 UTC, already Saturday
// in Berlin, which the reports count on Saturday (a UTC report would count
// it on Friday).
const nightOwl = 5 // femi, of design

func (h *history) lateLaunch(ctx context.Context, day time.Time) error {
	if day.Weekday() != time.Friday {
		return nil
	}
	user := Teams["design"][nightOwl]
	// Three products on from the morning's, so it opens a window of its own.
	code := Products[(nightOwl+int(day.Unix()/86400)+3)%len(Products)].Code
	l := launched{id: fmt.Sprintf("demo-design-%s-%s-%s-late", user, code, day.Format("20060102")),
		team: "design", user: user, product: code, device: user + "-laptop", at: day.Add(23*time.Hour + 30*time.Minute)}
	return h.launch(ctx, l, nightOwl)
}
