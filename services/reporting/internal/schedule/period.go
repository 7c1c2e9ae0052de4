// Package schedule keeps the organisations' report schedules and sends each
// one's report at most once a period: schedules and how far each delivery
// went live in the REPORT_SCHEDULES bucket, so replicas and restarts agree.
package schedule

import (
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Period is one reporting period: its label and its first and last day,
// calendar dates of the organisation's zone (held at midnight UTC).
type Period struct {
	Label    string
	From, To time.Time
}

// Due is the last complete period of kind p at now in zone: the previous
// calendar month, or the previous ISO week (Monday to Sunday), so a month
// ends at local midnight. A schedule sends its report once for each; labels
// of later periods sort after earlier ones.
func Due(p v1.SchedulePeriod, now time.Time, zone *time.Location) Period {
	now = now.In(zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if p == v1.SchedulePeriod_SCHEDULE_PERIOD_WEEKLY {
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		from := monday.AddDate(0, 0, -7)
		year, week := from.ISOWeek()
		return Period{Label: fmt.Sprintf("%04d-W%02d", year, week), From: from, To: monday.AddDate(0, 0, -1)}
	}
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	from := first.AddDate(0, -1, 0)
	return Period{Label: from.Format("2006-01"), From: from, To: first.AddDate(0, 0, -1)}
}
