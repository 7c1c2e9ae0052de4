package projector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Sink stores blocks of rows and knows where the projection stands.
type Sink interface {
	// MaxSeq is the highest sequence stored or checkpointed, 0 if none:
	// every event up to it is projected.
	MaxSeq(ctx context.Context) (uint64, error)
	// Insert stores rows as one block: all of them or none.
	Insert(ctx context.Context, rows []Record) error
	// Checkpoint records that every event up to seq is projected, for a
	// table whose last row is older (it skipped what came since).
	Checkpoint(ctx context.Context, seq uint64) error
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

// MaxSeq implements Sink: the higher of the table's max(seq) and its
// checkpoint (max over unmerged rows too, so no FINAL is needed).
func (s *ClickHouseSink) MaxSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	q := "SELECT greatest((SELECT max(seq) FROM " + s.table + "), " +
		"(SELECT max(seq) FROM projection_checkpoints WHERE table_name = ?))"
	if err := s.conn.QueryRow(ctx, q, s.table).Scan(&seq); err != nil {
		return 0, fmt.Errorf("max seq of %s: %w", s.table, err)
	}
	return seq, nil
}

// Checkpoint implements Sink. It inserts through a batch, as every INSERT
// here must on 18.16.
func (s *ClickHouseSink) Checkpoint(ctx context.Context, seq uint64) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO projection_checkpoints (table_name, seq, recorded)")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.table, err)
	}
	defer batch.Close()
	if err := batch.Append(s.table, seq, time.Now().UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.table, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("checkpoint %s at %d: %w", s.table, seq, err)
	}
	return nil
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
