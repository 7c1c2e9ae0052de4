package projector

import (
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Record is one row of a projected table.
type Record interface {
	// Sequence is the stream sequence of the event the row came from.
	Sequence() uint64
	// Partition is the row's month (toYYYYMM(day)). A block never spans
	// two, so it lands in one partition of a table partitioned by month
	// (usage_events, products) or by year (the others, from migration 5).
	Partition() int
	// Values are the row's values in the order of its projection's Columns.
	Values() []any
}

// Projection is one ClickHouse table fed by one stream. Each projection
// resumes after its own table's max(seq), or its checkpoint when that is
// higher, so a block is always one INSERT into one table: atomic, and the
// checkpoint.
type Projection struct {
	Table   string
	Stream  string
	Columns []string
	// Map returns the row of the event stored at seq; ok is false for events
	// the table does not hold.
	Map func(seq uint64, ev *v1.Event) (Record, bool)
}

// Charges projects WindowCharged events into the charges_v2 table.
var Charges = Projection{
	Table: "charges_v2", Stream: eventlog.LedgerStream, Columns: Columns,
	Map: func(seq uint64, ev *v1.Event) (Record, bool) {
		r, ok := RowOf(seq, ev)
		return &r, ok
	},
}

// Projections returns every table reporting keeps, LEDGER ones first.
func Projections() []Projection {
	return []Projection{Charges, Launches, PoolEvents, Assignments, Products, BudgetEvents, CapacityEvents, UserGroupEvents, SubscriptionEvents, UsageEvents, Sessions}
}

// Sequence implements Record.
func (r *Row) Sequence() uint64 { return r.Seq }

// record is a row built as a list of values; the projections of the tables
// other than charges use it.
type record struct {
	seq    uint64
	day    time.Time
	values []any
}

func (r *record) Sequence() uint64 { return r.seq }
func (r *record) Partition() int   { return partitionOf(r.day) }
func (r *record) Values() []any    { return r.values }

func partitionOf(day time.Time) int { return day.Year()*100 + int(day.Month()) }

// dayOf is the UTC midnight of t.
func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// serverTime is the event's server time, second precision (DateTime).
func serverTime(ev *v1.Event) time.Time {
	return ev.GetServerTime().AsTime().UTC().Truncate(time.Second)
}

// sortedAttributes returns a map's keys in order and their values.
func sortedAttributes(m map[string]string) (keys, values []string) {
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	values = make([]string, 0, len(m))
	for _, k := range keys {
		values = append(values, m[k])
	}
	return keys, values
}

func splitOf(parts []*v1.PackSplit) (ids []string, tokens []int64) {
	ids, tokens = make([]string, 0, len(parts)), make([]int64, 0, len(parts))
	for _, s := range parts {
		ids = append(ids, s.GetPackId())
		tokens = append(tokens, s.GetTokens())
	}
	return ids, tokens
}
