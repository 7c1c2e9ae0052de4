package schema_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// Every node of the 2x2 cluster gets the replicated _local tables and the
// Distributed tables over them, records its own versions, and a second run
// applies nothing on any node.
func TestMigrateNodeOnEveryNodeIsIdempotent(t *testing.T) {
	cl := testkit.ClickHouseCluster(t)
	c := schema.Cluster{Name: cl.Name, Database: cl.Database}
	ctx := t.Context()
	for _, addr := range cl.Nodes {
		applied, err := schema.MigrateNode(ctx, cl.Open(t, addr), c)
		require.NoError(t, err, addr)
		require.Equal(t, []uint32{1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13}, applied, addr)
	}
	for _, addr := range cl.Nodes {
		conn := cl.Open(t, addr)
		applied, err := schema.MigrateNode(ctx, conn, c)
		require.NoError(t, err, addr)
		require.Empty(t, applied, "a second run on %s applies nothing", addr)
		engines := map[string]string{}
		rows, err := conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ?", cl.Database)
		require.NoError(t, err)
		for rows.Next() {
			var name, engine string
			require.NoError(t, rows.Scan(&name, &engine))
			engines[name] = engine
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.Equal(t, "Distributed", engines["charges_v2"], addr)
		require.Equal(t, "ReplicatedMergeTree", engines["charges_v2_local"], addr)
		require.Equal(t, "ReplicatedSummingMergeTree", engines["usage_daily_v2_local"], addr)
		require.Equal(t, "MaterializedView", engines["usage_daily_v2_mv"], addr)
		require.Equal(t, "ReplicatedReplacingMergeTree", engines["projection_checkpoints"], addr)
		require.Equal(t, "ReplicatedMergeTree", engines["stream_origins"], addr)
		require.Equal(t, "MergeTree", engines["schema_migrations"], addr)
		require.Equal(t, "ReplicatedReplacingMergeTree", engines["projection_checkpoints_v2"], addr)
		for _, table := range []string{"charges_v2_local", "charges_v2", "products_local", "products", "sessions_v2_local", "sessions_v2"} {
			var typ, def string
			require.NoError(t, conn.QueryRow(ctx, "SELECT type, default_expression FROM system.columns WHERE database = ? AND table = ? AND name = 'stream_part'",
				cl.Database, table).Scan(&typ, &def), "%s on %s", table, addr)
			require.Equal(t, "Int8", typ, table)
			require.Equal(t, "-1", def, table)
		}
	}
}

// The Go sharding key equals the SQL one, and a row inserted through the
// Distributed table lands on the shard ShardOf names.
func TestShardKeyMatchesClickHouse(t *testing.T) {
	cl := testkit.ClickHouseCluster(t)
	c := schema.Cluster{Name: cl.Name, Database: cl.Database}
	ctx := t.Context()
	for _, addr := range cl.Nodes {
		_, err := schema.MigrateNode(ctx, cl.Open(t, addr), c)
		require.NoError(t, err, addr)
	}
	conn := cl.Open(t, cl.Nodes[0])
	shards := schema.NewShardRanges([]uint32{1, 1})
	batch, err := conn.PrepareBatch(schemaCtx(t), "INSERT INTO products (seq, org_id, day)")
	require.NoError(t, err)
	want := map[string]int{}
	for i := range 40 {
		org := fmt.Sprintf("org-%d", i)
		var key uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT "+schema.ShardKeySQL+" FROM (SELECT ? AS org_id)", org).Scan(&key))
		require.Equal(t, key, schema.ShardKey(org), org)
		want[org] = shards.Of(org) + 1
		require.NoError(t, batch.Append(uint64(i+1), org, time.Now()))
	}
	require.NoError(t, batch.Send())
	got := map[string]int{}
	// Either replica of a shard may hold a row the other has not fetched yet.
	for i, addr := range cl.Nodes {
		shard := i/2 + 1
		rows, err := cl.Open(t, addr).Query(ctx, "SELECT org_id FROM products_local")
		require.NoError(t, err)
		for rows.Next() {
			var org string
			require.NoError(t, rows.Scan(&org))
			got[org] = shard
		}
		rows.Close()
	}
	require.Equal(t, want, got)
	require.Contains(t, got, "org-0")
}

// schemaCtx inserts through a Distributed table synchronously.
func schemaCtx(t *testing.T) context.Context {
	return clickhouse.Context(t.Context(), clickhouse.WithSettings(clickhouse.Settings{"insert_distributed_sync": 1}))
}

// Two charges of the same user, product and day in separate blocks make
// identical usage_daily blocks through the view; replication must not take
// the second for a retry of the first and drop it.
func TestClusterViewKeepsIdenticalBlocks(t *testing.T) {
	cl := testkit.ClickHouseCluster(t)
	c := schema.Cluster{Name: cl.Name, Database: cl.Database}
	ctx := t.Context()
	for _, addr := range cl.Nodes {
		_, err := schema.MigrateNode(ctx, cl.Open(t, addr), c)
		require.NoError(t, err, addr)
	}
	conn := cl.Open(t, cl.Nodes[0])
	day := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	for seq := uint64(1); seq <= 2; seq++ {
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO charges_v2_local (seq, event_id, org_id, team_id, user_id, product_code, day, tokens)")
		require.NoError(t, err)
		require.NoError(t, batch.Append(seq, fmt.Sprint("ev-", seq), "acme", "design", "ann", "REVIT", day, int64(10)))
		require.NoError(t, batch.Send())
	}
	var tokens int64
	var charges uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT sum(tokens), sum(charges) FROM usage_daily_v2_local").Scan(&tokens, &charges))
	require.Equal(t, int64(20), tokens)
	require.Equal(t, uint64(2), charges)
}

// Two nodes migrating at once add a column to both replicas of a
// replicated table: the ALTER of the one that comes second fails (the
// column is in ZooKeeper already), and it waits for the column to arrive
// instead of failing the migration.
func TestAddColumnOnReplicasAtOnce(t *testing.T) {
	cl := testkit.ClickHouseCluster(t)
	ctx := t.Context()
	replicas := []driver.Conn{cl.Open(t, cl.Nodes[0]), cl.Open(t, cl.Nodes[1])}
	for _, conn := range replicas {
		require.NoError(t, conn.Exec(ctx, "CREATE TABLE r_local (org_id String, seq UInt64) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/"+
			cl.Database+"/r_local', '{replica}') ORDER BY seq"))
	}
	for i := range 30 {
		c := schema.Column{Table: "r_local", Name: fmt.Sprint("c", i), Type: "Int8 DEFAULT -1"}
		errs := make(chan error, len(replicas))
		for _, conn := range replicas {
			go func() { errs <- schema.AddColumn(ctx, conn, c) }()
		}
		for range replicas {
			require.NoError(t, <-errs, c.Name)
		}
	}
}

// A copy between unsharded tables runs as written on every node; one into
// or out of a sharded table has no cluster layout.
func TestClusterCopyLayout(t *testing.T) {
	t.Parallel()
	c := schema.Cluster{Name: "tokenmeter", Database: "db"}
	copyCheckpoints := "INSERT INTO projection_checkpoints_v2 (table_name, stream_part, seq, recorded)\nSELECT table_name, toInt8(-1), seq, recorded FROM projection_checkpoints"
	stmts, err := c.Statements(copyCheckpoints)
	require.NoError(t, err)
	require.Equal(t, []string{copyCheckpoints}, stmts)
	_, err = c.Statements("INSERT INTO charges_v2 (seq) SELECT seq FROM charges")
	require.ErrorContains(t, err, "no cluster layout for a copy between sharded tables")
}
