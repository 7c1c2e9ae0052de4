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
	Insert(ctx context.Context, rows []Row) error
}

// ClickHouseSink writes the charges table.
type ClickHouseSink struct {
	conn driver.Conn
}

// NewClickHouseSink returns a sink on conn's database.
func NewClickHouseSink(conn driver.Conn) *ClickHouseSink { return &ClickHouseSink{conn: conn} }

// insertCharges names every column: 18.16 with clickhouse-go v2 refuses an
// INSERT without them.
var insertCharges = "INSERT INTO charges (" + strings.Join(Columns, ", ") + ")"

// MaxSeq implements Sink.
func (s *ClickHouseSink) MaxSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	if err := s.conn.QueryRow(ctx, "SELECT max(seq) FROM charges").Scan(&seq); err != nil {
		return 0, fmt.Errorf("max seq of charges: %w", err)
	}
	return seq, nil
}

// Insert implements Sink.
func (s *ClickHouseSink) Insert(ctx context.Context, rows []Row) error {
	batch, err := s.conn.PrepareBatch(ctx, insertCharges)
	if err != nil {
		return fmt.Errorf("prepare charges insert: %w", err)
	}
	defer batch.Close()
	for i := range rows {
		if err := batch.Append(rows[i].Values()...); err != nil {
			return fmt.Errorf("append charge seq %d: %w", rows[i].Seq, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d charges: %w", len(rows), err)
	}
	return nil
}
