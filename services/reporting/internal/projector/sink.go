package projector

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ErrInsertRunning is MaxSeq's refusal while an earlier insert may still land.
var ErrInsertRunning = errors.New("an earlier insert is still running on the server")

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

// ClickHouseSink writes the rows one stream brings to one projection's
// table: every row carries the stream's partition (stream_part), and the
// table's position in that stream is read and checkpointed by it alone.
type ClickHouseSink struct {
	conn   driver.Conn
	table  string
	part   int8
	insert string

	mu sync.Mutex
	// queryID starts the query id of every insert, naming database, table
	// and stream ("" until first asked for).
	queryID string
}

// NewClickHouseSink returns a sink writing p's table on conn's database
// from the stream of partition part (subject.Unpartitioned: LEDGER or USAGE
// itself, else LEDGER-<part> or USAGE-<part>).
func NewClickHouseSink(conn driver.Conn, p Projection, part int) *ClickHouseSink {
	// Name every column: 18.16 with clickhouse-go v2 refuses an INSERT
	// without them.
	return &ClickHouseSink{conn: conn, table: p.Table, part: int8(part),
		insert: "INSERT INTO " + p.Table + " (" + strings.Join(p.Columns, ", ") + ", stream_part)"}
}

// queryPrefix is the start of the query id of s's inserts; system.processes
// is the server's, so it names the database too.
func (s *ClickHouseSink) queryPrefix(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queryID == "" {
		var db string
		if err := s.conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&db); err != nil {
			return "", fmt.Errorf("database of %s: %w", s.table, err)
		}
		s.queryID = "projector." + db + "." + s.table + "." + strconv.Itoa(int(s.part)) + "."
	}
	return s.queryID, nil
}

// MaxSeq implements Sink: the higher of the table's max(seq) and its
// checkpoint in this sink's stream (max over unmerged rows too, so no FINAL
// is needed). Sequences of different streams are unrelated.
//
// It refuses while an insert of this table and stream still runs on the
// server: one whose client gave up (an insert timeout, a lease's fence) may
// still land, and resuming before it did would write its rows again.
func (s *ClickHouseSink) MaxSeq(ctx context.Context) (uint64, error) {
	prefix, err := s.queryPrefix(ctx)
	if err != nil {
		return 0, err
	}
	var running uint64
	err = s.conn.QueryRow(ctx, "SELECT count() FROM system.processes WHERE substring(query_id, 1, length(?)) = ?",
		prefix, prefix).Scan(&running)
	if err != nil {
		return 0, fmt.Errorf("inserts running into %s: %w", s.table, err)
	}
	if running > 0 {
		return 0, fmt.Errorf("%w: %s, stream partition %d", ErrInsertRunning, s.table, s.part)
	}
	var seq uint64
	q := "SELECT greatest((SELECT max(seq) FROM " + s.table + " WHERE stream_part = ?), " +
		"(SELECT max(seq) FROM projection_checkpoints_v2 WHERE table_name = ? AND stream_part = ?))"
	if err := s.conn.QueryRow(ctx, q, s.part, s.table, s.part).Scan(&seq); err != nil {
		return 0, fmt.Errorf("max seq of %s in stream partition %d: %w", s.table, s.part, err)
	}
	return seq, nil
}

// Checkpoint implements Sink. It inserts through a batch, as every INSERT
// here must on 18.16.
func (s *ClickHouseSink) Checkpoint(ctx context.Context, seq uint64) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO projection_checkpoints_v2 (table_name, stream_part, seq, recorded)")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.table, err)
	}
	defer batch.Close()
	if err := batch.Append(s.table, s.part, seq, time.Now().UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.table, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("checkpoint %s at %d: %w", s.table, seq, err)
	}
	return nil
}

// Insert implements Sink.
func (s *ClickHouseSink) Insert(ctx context.Context, rows []Record) error {
	prefix, err := s.queryPrefix(ctx)
	if err != nil {
		return err
	}
	ctx = clickhouse.Context(ctx, clickhouse.WithQueryID(prefix+rand.Text()))
	batch, err := s.conn.PrepareBatch(ctx, s.insert)
	if err != nil {
		return fmt.Errorf("prepare %s insert: %w", s.table, err)
	}
	defer batch.Close()
	for _, r := range rows {
		if err := batch.Append(append(r.Values(), s.part)...); err != nil {
			return fmt.Errorf("append %s seq %d: %w", s.table, r.Sequence(), err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), s.table, err)
	}
	return nil
}
