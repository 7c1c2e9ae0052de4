package schema_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	conn, _ := testkit.ClickHouse(t)
	ctx := t.Context()

	applied, err := schema.Migrate(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, []uint32{1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13}, applied)

	applied, err = schema.Migrate(ctx, conn)
	require.NoError(t, err)
	require.Empty(t, applied, "a second run applies nothing")

	versions, err := schema.Applied(ctx, conn)
	require.NoError(t, err)
	require.Equal(t, map[uint32]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 10: true, 12: true, 13: true}, versions)

	for _, table := range []string{"charges", "usage_daily", "usage_daily_mv", "launches", "pool_events", "assignments", "products", "usage_events", "sessions", "budget_events", "stream_origins", "schema_migrations",
		"charges_v2", "usage_daily_v2", "usage_daily_v2_mv", "launches_v2", "pool_events_v2", "assignments_v2", "sessions_v2", "budget_events_v2", "projection_checkpoints", "capacity_events", "user_group_events", "planned_project_events", "subscription_events", "projection_checkpoints_v2"} {
		var n uint64
		require.NoError(t, conn.QueryRow(ctx,
			"SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?", table).Scan(&n))
		require.Equal(t, uint64(1), n, table)
	}
}

// Every projection table names the stream partition of its rows; rows from
// before migration 13 came from the one-stream layout (-1).
func TestProjectionTablesHaveStreamPartition(t *testing.T) {
	t.Parallel()
	conn, _ := testkit.ClickHouse(t)
	ctx := t.Context()
	_, err := schema.Migrate(ctx, conn)
	require.NoError(t, err)
	for _, table := range []string{"charges_v2", "launches_v2", "pool_events_v2", "assignments_v2", "products", "budget_events_v2",
		"capacity_events", "user_group_events", "subscription_events", "usage_events", "sessions_v2"} {
		var typ, def string
		require.NoError(t, conn.QueryRow(ctx, "SELECT type, default_expression FROM system.columns WHERE database = currentDatabase() AND table = ? AND name = 'stream_part'", table).Scan(&typ, &def), table)
		require.Equal(t, "Int8", typ, table)
		require.Equal(t, "-1", def, table)
	}
}

func TestMigrationVersionsIncrease(t *testing.T) {
	t.Parallel()
	var last uint32
	for _, m := range schema.Migrations() {
		require.Greater(t, m.Version, last)
		require.NotEmpty(t, m.Statements)
		last = m.Version
	}
}

func TestCheckDatabase(t *testing.T) {
	t.Parallel()
	require.NoError(t, schema.CheckDatabase("tokenmeter"))
	require.NoError(t, schema.CheckDatabase("test_0a1b"))
	for _, bad := range []string{"", "1db", "a-b", "a`b", "a;DROP"} {
		require.Error(t, schema.CheckDatabase(bad), bad)
	}
}
