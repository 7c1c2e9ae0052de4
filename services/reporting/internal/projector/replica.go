package projector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ErrReplicaBehind is a sharded sink's refusal of a shard's resume point
// while a replica of the shard is down and none of those answering has
// fetched every part the shard's replicas committed: the missing part may
// hold the newest rows, and resuming without them would write them again.
var ErrReplicaBehind = errors.New("a replica is down and the others have not fetched every committed part")

// fetchedAll reports whether the replica s reaches holds every part its
// table and the checkpoints table have committed in ZooKeeper. A part
// committed by a replica that died before another fetched it stays in the
// others' queues until it returns.
func (s *ClickHouseSink) fetchedAll(ctx context.Context) (bool, error) {
	type replica struct{ table, path string }
	var replicas []replica
	rows, err := s.conn.Query(ctx, "SELECT zookeeper_path, replica_path FROM system.replicas "+
		"WHERE database = currentDatabase() AND table IN (?, 'projection_checkpoints_v2')", s.table)
	if err != nil {
		return false, fmt.Errorf("replicas of %s: %w", s.table, err)
	}
	for rows.Next() {
		var r replica
		if err := rows.Scan(&r.table, &r.path); err != nil {
			rows.Close()
			return false, fmt.Errorf("replicas of %s: %w", s.table, err)
		}
		replicas = append(replicas, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("replicas of %s: %w", s.table, err)
	}
	for _, r := range replicas {
		done, err := s.replicaFetchedAll(ctx, r.table, r.path)
		if err != nil || !done {
			return false, err
		}
	}
	return true, nil
}

// replicaFetchedAll reads, from ZooKeeper alone and in this order, the
// replica's log pointer (the next entry of the table's log it will read),
// whether the log holds an entry at or past it, and whether its queue still
// holds a fetch. A replica reading the log moves its pointer and writes the
// queue entries in one ZooKeeper transaction, and removes a fetch only once
// the part is its own, so a pointer seen past an entry means that entry's
// fetch is seen in the queue, or done. (system.replicas reads its queue
// counts from memory, filled after that transaction: not to be trusted here.)
func (s *ClickHouseSink) replicaFetchedAll(ctx context.Context, table, replica string) (bool, error) {
	var pointer string
	err := s.conn.QueryRow(ctx, "SELECT value FROM system.zookeeper WHERE path = ? AND name = 'log_pointer'", replica).Scan(&pointer)
	if err != nil {
		return false, fmt.Errorf("log pointer of %s: %w", replica, err)
	}
	next, err := strconv.ParseUint(pointer, 10, 64)
	if pointer != "" && err != nil {
		return false, fmt.Errorf("log pointer of %s: %w", replica, err)
	}
	var unread, fetches uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = ? AND toUInt64OrZero(substring(name, 5)) >= ?",
		table+"/log", next).Scan(&unread); err != nil {
		return false, fmt.Errorf("replication log of %s: %w", table, err)
	}
	if unread > 0 {
		return false, nil
	}
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = ? AND position(value, '\\nget\\n') > 0",
		replica+"/queue").Scan(&fetches); err != nil {
		return false, fmt.Errorf("replication queue of %s: %w", replica, err)
	}
	return fetches == 0, nil
}
