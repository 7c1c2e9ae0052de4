package projector

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Sink stores blocks of rows and knows where the projection stands.
type Sink interface {
	// MaxSeq is the highest sequence stored, 0 if none.
	MaxSeq(ctx context.Context) (uint64, error)
	// Insert stores rows as one block: all of them or none.
	Insert(ctx context.Context, rows []Record) error
}

// ClickHouseSink writes one projection's table.
type ClickHouseSink struct {
	conn   driver.Conn
	table  string
	insert string
}

// NewClickHouseSink returns a sink writing p's table on conn's database.
func NewClickHouseSink(conn driver.Conn, p Projection) *ClickHouseSink {
	// Name every column: 18.16 with clickhouse-go v2 refuses an INSERT
	// without them.
	return &ClickHouseSink{conn: conn, table: p.Table,
		insert: "INSERT INTO " + p.Table + " (" + strings.Join(p.Columns, ", ") + ")"}
}

// MaxSeq implements Sink.
func (s *ClickHouseSink) MaxSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	if err := s.conn.QueryRow(ctx, "SELECT max(seq) FROM "+s.table).Scan(&seq); err != nil {
		return 0, fmt.Errorf("max seq of %s: %w", s.table, err)
	}
	return seq, nil
}

// Insert implements Sink.
func (s *ClickHouseSink) Insert(ctx context.Context, rows []Record) error {
	batch, err := s.conn.PrepareBatch(ctx, s.insert)
	if err != nil {
		return fmt.Errorf("prepare %s insert: %w", s.table, err)
	}
	defer batch.Close()
	for _, r := range rows {
		if err := batch.Append(r.Values()...); err != nil {
			return fmt.Errorf("append %s seq %d: %w", s.table, r.Sequence(), err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), s.table, err)
	}
	return nil
}
