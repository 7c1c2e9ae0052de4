package query

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// CapacityBucket is the length of a capacity history's buckets, mirroring
// tokenmeter.v1.CapacityBucket.
type CapacityBucket int

// Capacity buckets.
const (
	BucketDay CapacityBucket = iota
	BucketWeek
	BucketMonth
)

// MaxCapacityBuckets bounds the buckets of one capacity history.
const MaxCapacityBuckets = 400

// bucketKeys are the bucket expressions; the SQL takes them from here,
// never from a request.
func bucketKey(s CapacityScope) string {
	day := dayOf(s.Filter, "at")
	switch s.Bucket {
	case BucketWeek:
		return "toMonday(" + day + ")"
	case BucketMonth:
		return "toStartOfMonth(" + day + ")"
	}
	return day
}

// BucketStart is the first day of t's bucket: the day, its week's Monday
// or its month's 1st (UTC).
func BucketStart(b CapacityBucket, t time.Time) time.Time {
	d := dateOf(t.UTC())
	switch b {
	case BucketWeek:
		return d.AddDate(0, 0, -(int(d.Weekday())+6)%7)
	case BucketMonth:
		return d.AddDate(0, 0, 1-d.Day())
	}
	return d
}

func nextBucket(b CapacityBucket, start time.Time) time.Time {
	switch b {
	case BucketWeek:
		return start.AddDate(0, 0, 7)
	case BucketMonth:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(0, 0, 1)
}

// CapacityScope is one capacity product of one team over f's range.
type CapacityScope struct {
	Filter
	Product string
	Bucket  CapacityBucket
}

// CapacityScope records the problems of a capacity history request:
// one team (f holds it), a product code, and at most MaxCapacityBuckets.
func (c *Check) CapacityScope(s CapacityScope) {
	if !subject.ValidID(s.Product) {
		c.inv.add("product_code", "%s is not a product code: 1-64 letters, digits, '-' or '_'", quote.Prefix(s.Product))
	}
	if n := len(Buckets(s)); n > MaxCapacityBuckets {
		c.inv.add("range", "%d buckets from %s to %s: at most %d, choose a longer bucket or a shorter range",
			n, s.From.Format(DateLayout), s.To.Format(DateLayout), MaxCapacityBuckets)
	}
}

// Buckets lists the starts of the buckets s spans, in order; it stops
// counting one past MaxCapacityBuckets.
func Buckets(s CapacityScope) []time.Time {
	var out []time.Time
	for b := BucketStart(s.Bucket, s.From); !b.After(s.To) && len(out) <= MaxCapacityBuckets; b = nextBucket(s.Bucket, b) {
		out = append(out, b)
	}
	return out
}

// CapacityUse is the use of one bucket.
type CapacityUse struct {
	Start                time.Time
	Used, Returned, Uses int64
	Users                uint64
}

// CapacityUsage builds s's use per bucket, buckets with events only.
func CapacityUsage(s CapacityScope) (string, []any) {
	sql := `SELECT ` + bucketKey(s) + ` AS b,
	sumIf(units, kind = 'used') AS used, sumIf(units, kind = 'returned') AS returned,
	toInt64(countIf(kind = 'used')) AS uses, uniqExactIf(user_id, kind = 'used') AS users
FROM capacity_events
WHERE ` + scope(s.Filter, "at") + ` AND product_code = ?
GROUP BY b
ORDER BY b`
	return sql, append(scopeArgs(s.Filter), s.Product)
}

// CapacityUsage returns s's use for every bucket of its range, zero where
// nothing happened.
func (r *Reader) CapacityUsage(ctx context.Context, s CapacityScope) ([]CapacityUse, error) {
	sql, args := CapacityUsage(s)
	got := map[time.Time]CapacityUse{}
	err := r.each(ctx, "capacity usage", sql, args, func(rows driver.Rows) error {
		var u CapacityUse
		if err := rows.Scan(&u.Start, &u.Used, &u.Returned, &u.Uses, &u.Users); err != nil {
			return err
		}
		u.Start = dateOf(u.Start)
		got[u.Start] = u
		return nil
	})
	if err != nil {
		return nil, err
	}
	starts := Buckets(s)
	out := make([]CapacityUse, len(starts))
	for i, b := range starts {
		out[i] = got[b]
		out[i].Start = b
	}
	return out, nil
}
