package projector

import (
	"context"
	"errors"
	"fmt"
)

// ErrReplicaBehind is a sharded sink's refusal of a shard's resume point
// while a replica of the shard is down and none of those answering has
// fetched every part the shard's replicas committed: the missing part may
// hold the newest rows, and resuming without them would write them again.
var ErrReplicaBehind = errors.New("a replica is down and the others have not fetched every committed part")

// fetchedAll reports whether the replica s reaches holds every part its
// table and the checkpoints table have committed in ZooKeeper: it has read
// the whole replication log into its queue and has no fetch of a part left
// in it. A part committed by a replica that died before another fetched it
// stays in the others' queues until it returns.
func (s *ClickHouseSink) fetchedAll(ctx context.Context) (bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT inserts_in_queue, log_pointer, log_max_index, zookeeper_path FROM system.replicas "+
		"WHERE database = currentDatabase() AND table IN (?, 'projection_checkpoints_v2')", s.table)
	if err != nil {
		return false, fmt.Errorf("replication queue of %s: %w", s.table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var inserts uint32
		var pointer, maxIndex uint64
		var path string
		if err := rows.Scan(&inserts, &pointer, &maxIndex, &path); err != nil {
			return false, fmt.Errorf("replication queue of %s: %w", s.table, err)
		}
		if inserts > 0 || pointer < maxIndex {
			return false, nil
		}
		// log_pointer is the next entry to read and log_max_index the last
		// one, 0 also when the log is empty: only the log itself says
		// whether its entry 0 was read.
		if pointer == maxIndex {
			if pointer > 0 {
				return false, nil
			}
			var entries uint64
			if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = ?", path+"/log").Scan(&entries); err != nil {
				return false, fmt.Errorf("replication log of %s: %w", s.table, err)
			}
			if entries > 0 {
				return false, nil
			}
		}
	}
	return true, rows.Err()
}
