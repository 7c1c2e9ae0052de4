package projector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// ShardedSink writes the rows one stream partition brings to one
// projection's table on a sharded cluster: each row into the <table>_local
// of its organisation's shard, through a ClickHouseSink per shard (whose
// connection lists the shard's replicas) writing that partition, so a resume
// point is per table, stream partition and shard.
//
// Each shard keeps its own resume point (its max(seq) or checkpoint, the
// highest any of its replicas holds, so that one which has not fetched the
// newest parts yet cannot pull it back): MaxSeq is the lowest of them, and
// Insert skips, per shard, the rows at or below that shard's point. A block that reached some shards and not others (a
// failure or a stop between them) is read again from the lowest point and
// lands only where it is missing. A retry on another replica of the same
// shard is covered by replication's block deduplication; a part only a
// stopped replica holds, by waiting for it (point).
type ShardedSink struct {
	shards []*ClickHouseSink
	// replicas read each shard's point, one sink per replica.
	replicas [][]*ClickHouseSink
	ranges   schema.ShardRanges
	orgCol   int

	mu     sync.Mutex
	points []uint64

	// beforeShard, when set, runs before the insert into shard i of a block
	// that reached done other shards already (tests stop the projector there).
	beforeShard func(ctx context.Context, i, done int) error
}

// Shard is how a ShardedSink reaches one shard.
type Shard struct {
	// Conn inserts: it lists the shard's replicas and fails over in order.
	Conn driver.Conn
	// Replicas reach one replica each (without a ping: one may be down).
	Replicas []driver.Conn
}

// NewShardedSink returns the sink of p over shards, in shard order, placing
// rows by ranges, for the stream of partition part (as NewClickHouseSink).
func NewShardedSink(shards []Shard, ranges schema.ShardRanges, p Projection, part int) (*ShardedSink, error) {
	if len(shards) == 0 || len(shards) != len(ranges) {
		return nil, fmt.Errorf("sharded sink of %s: %d connections for %d shards", p.Table, len(shards), len(ranges))
	}
	orgCol := slices.Index(p.Columns, "org_id")
	if orgCol < 0 {
		return nil, fmt.Errorf("sharded sink of %s: no org_id column to shard by", p.Table)
	}
	local := p
	local.Table = schema.LocalTable(p.Table)
	s := &ShardedSink{ranges: ranges, orgCol: orgCol, points: make([]uint64, len(shards))}
	for _, sh := range shards {
		if len(sh.Replicas) == 0 {
			return nil, fmt.Errorf("sharded sink of %s: a shard without replicas", p.Table)
		}
		s.shards = append(s.shards, NewClickHouseSink(sh.Conn, local, part))
		var replicas []*ClickHouseSink
		for _, r := range sh.Replicas {
			replicas = append(replicas, NewClickHouseSink(r, local, part))
		}
		s.replicas = append(s.replicas, replicas)
	}
	return s, nil
}

// MaxSeq implements Sink: the lowest of the shards' resume points, which it
// reads again from each shard.
func (s *ShardedSink) MaxSeq(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	low := ^uint64(0)
	for i := range s.shards {
		seq, err := s.point(ctx, i)
		if err != nil {
			return 0, fmt.Errorf("shard %d: %w", i+1, err)
		}
		s.points[i] = seq
		low = min(low, seq)
	}
	return low, nil
}

// point is shard i's resume point: the highest of its replicas. The shard's
// insert connection may have reached any of them, so an insert still running
// on one (ErrInsertRunning) refuses the point, as on one server; and so does
// a replica that does not answer, unless it is known not to run at all
// (absent): a hung or cut-off server may still land an insert the client
// gave up on. With a replica absent, a part it committed may not have
// reached the others yet, so the point is read again from one that has
// fetched every committed part, and refused (ErrReplicaBehind) while none has.
func (s *ShardedSink) point(ctx context.Context, i int) (uint64, error) {
	var high uint64
	var answering []*ClickHouseSink
	for j, r := range s.replicas[i] {
		seq, err := r.MaxSeq(ctx)
		if err != nil && !absent(err) {
			return 0, fmt.Errorf("replica %d: %w", j+1, err)
		}
		if err == nil {
			answering = append(answering, r)
			high = max(high, seq)
		}
	}
	switch {
	case len(answering) == 0:
		return 0, fmt.Errorf("no replica answers")
	case len(answering) == len(s.replicas[i]):
		return high, nil
	}
	for _, r := range answering {
		current, err := r.fetchedAll(ctx)
		if err != nil {
			return 0, err
		}
		if current {
			// Read after the check: parts fetched since the first read count.
			seq, err := r.MaxSeq(ctx)
			return max(high, seq), err
		}
	}
	return 0, fmt.Errorf("%w: %s", ErrReplicaBehind, s.shards[i].table)
}

// absent reports whether err shows the server is not running: its port
// refuses connections or its name no longer resolves (a removed pod).
func absent(err error) bool {
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &dns) && dns.IsNotFound)
}

// Insert implements Sink: each shard's part as one block, shard by shard,
// without the rows that shard already holds.
func (s *ShardedSink) Insert(ctx context.Context, rows []Record) error {
	parts := make([][]Record, len(s.shards))
	for _, r := range rows {
		org, _ := r.Values()[s.orgCol].(string)
		i := s.ranges.Of(org)
		parts[i] = append(parts[i], r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	done := 0
	for i, part := range parts {
		point := s.points[i]
		part = slices.DeleteFunc(part, func(r Record) bool { return r.Sequence() <= point })
		if len(part) == 0 {
			continue
		}
		if s.beforeShard != nil {
			if err := s.beforeShard(ctx, i, done); err != nil {
				return err
			}
		}
		if err := s.shards[i].Insert(ctx, part); err != nil {
			return fmt.Errorf("shard %d: %w", i+1, err)
		}
		s.points[i] = part[len(part)-1].Sequence()
		done++
	}
	return nil
}

// Checkpoint implements Sink on every shard whose point is below seq.
func (s *ShardedSink) Checkpoint(ctx context.Context, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sh := range s.shards {
		if s.points[i] >= seq {
			continue
		}
		if err := sh.Checkpoint(ctx, seq); err != nil {
			return fmt.Errorf("shard %d: %w", i+1, err)
		}
		s.points[i] = seq
	}
	return nil
}
