package query

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Reader runs report queries on ClickHouse.
type Reader struct {
	conn driver.Conn
}

// NewReader returns a reader on conn's database.
func NewReader(conn driver.Conn) *Reader { return &Reader{conn: conn} }

// each runs sql and calls scan for every row.
func (r *Reader) each(ctx context.Context, name, sql string, args []any, scan func(driver.Rows) error) error {
	rows, err := r.conn.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// SortBy orders by-user and by-product rows.
type SortBy int

// Sort keys, mirroring tokenmeter.v1.SortBy.
const (
	SortTokens SortBy = iota
	SortUsers
	SortDaysUsed
	SortLastUsed
	SortName
)

// Order is a sort and a limit: Limit 10 by tokens is the top 10 consumers.
type Order struct {
	By    SortBy
	Asc   bool
	Limit int
}

// orderBy is the ORDER BY … LIMIT clause of o over the named columns; the
// key column breaks ties so pages are stable. Numbers and last use sort
// highest first, names A to Z; Asc flips that. Column names come from the
// caller's constants only, never from a request.
func orderBy(o Order, cols map[SortBy]string, key string) string {
	col, desc := o.column(cols)
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	s := "\nORDER BY " + col + dir
	if col != key {
		s += ", " + key
	}
	if o.Limit > 0 {
		s += fmt.Sprintf("\nLIMIT %d", o.Limit)
	}
	return s
}

// column is o's sort column among cols (tokens when cols lacks o's) and
// whether it sorts descending.
func (o Order) column(cols map[SortBy]string) (col string, desc bool) {
	col, ok := cols[o.By]
	if !ok {
		o.By, col = SortTokens, cols[SortTokens]
	}
	return col, (o.By != SortName) != o.Asc
}

// inList is "col IN (?, ?, …)" for values, or "" when there are none.
func inList(col string, n int) string {
	if n == 0 {
		return ""
	}
	return " AND " + col + " IN (" + placeholders(n) + ")"
}

func strArgs(args []any, values []string) []any {
	for _, v := range values {
		args = append(args, v)
	}
	return args
}
