package chaos

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// catchUpTimeout bounds the wait for a restarted replica to fetch what its
// sibling took while it was down.
const catchUpTimeout = time.Minute

// shardedTables are the projection tables of the cluster's database (their
// Distributed names): those sharded by organisation whose rows name the
// stream partition and sequence they were projected from.
func shardedTables(t *testing.T, conn driver.Conn, database string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT table FROM system.columns
WHERE database = ? AND name IN ('org_id', 'stream_part', 'seq') AND table NOT LIKE '%_local'
GROUP BY table HAVING count() = 3 ORDER BY table`, database)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	var tables []string
	for rows.Next() {
		var table string
		require.NoError(t, rows.Scan(&table))
		tables = append(tables, table)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables, "no sharded projection table in %s", database)
	return tables
}

// checkNoDoubledRows requires each table, read through its Distributed
// table, to hold every (stream_part, seq) once: a projector killed between
// its insert and its checkpoint, or a replica killed under an insert, may
// retry the block but must not store it twice.
func checkNoDoubledRows(t *testing.T, conn driver.Conn, tables []string) {
	t.Helper()
	for _, table := range tables {
		rows, err := conn.Query(t.Context(), fmt.Sprintf(
			"SELECT stream_part, seq, count() AS n FROM %s GROUP BY stream_part, seq HAVING n > 1 ORDER BY stream_part, seq", table))
		require.NoError(t, err, table)
		var doubled []string
		for rows.Next() {
			var part int8
			var seq, n uint64
			require.NoError(t, rows.Scan(&part, &seq, &n))
			doubled = append(doubled, fmt.Sprintf("(%d, %d)×%d", part, seq, n))
		}
		require.NoError(t, rows.Err())
		_ = rows.Close()
		assert.Empty(t, doubled, "%s: (stream_part, seq) stored more than once", table)
	}
}

// checkReplicasCaughtUp waits, up to catchUpTimeout, until both replicas
// of each shard hold as many rows of every table: the replica killed under
// load fetched what its sibling took while it was down.
func checkReplicasCaughtUp(t *testing.T, c *testkit.CHCluster, tables []string) {
	t.Helper()
	conns := make([]driver.Conn, len(c.Nodes))
	for i, addr := range c.Nodes {
		conns[i] = c.Open(t, addr)
	}
	var gaps []string
	for deadline := time.Now().Add(catchUpTimeout); ; time.Sleep(250 * time.Millisecond) {
		gaps = replicaGaps(t, c.Nodes, conns, tables)
		if len(gaps) == 0 || time.Now().After(deadline) {
			break
		}
	}
	assert.Empty(t, gaps, "replicas of a shard holding different rows after %s", catchUpTimeout)
}

// replicaGaps describes each table whose row count differs between the two
// replicas of a shard (nodes are in shard order, two replicas each).
func replicaGaps(t *testing.T, nodes []string, conns []driver.Conn, tables []string) []string {
	t.Helper()
	var gaps []string
	for _, table := range tables {
		counts := make([]uint64, len(conns))
		for i, conn := range conns {
			require.NoError(t, conn.QueryRow(t.Context(), "SELECT count() FROM "+table+"_local").Scan(&counts[i]),
				"%s on %s", table, nodes[i])
		}
		for i := 0; i+1 < len(counts); i += 2 {
			if counts[i] != counts[i+1] {
				gaps = append(gaps, fmt.Sprintf("%s: %d rows on %s, %d on %s",
					table, counts[i], nodes[i], counts[i+1], nodes[i+1]))
			}
		}
	}
	return gaps
}

// checkClusterClickHouse is the cluster's ClickHouse invariants beyond the
// charges' totals, read on fresh connections (the suite's own may have
// pointed at the killed replica).
func checkClusterClickHouse(t *testing.T, c *testkit.CHCluster) {
	conn := c.Open(t, c.Nodes...)
	tables := shardedTables(t, conn, c.Database)
	t.Logf("sharded tables: %s", strings.Join(tables, ", "))
	t.Run("caught-up", func(t *testing.T) { checkReplicasCaughtUp(t, c, tables) })
	t.Run("no-doubled-row", func(t *testing.T) { checkNoDoubledRows(t, conn, tables) })
}
