package testkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

func TestClickHouseRoundTrip(t *testing.T) {
	t.Parallel()
	conn, database := testkit.ClickHouse(t)
	require.Regexp(t, `^test_[0-9a-f]{16}$`, database)
	ctx := t.Context()

	var current string
	require.NoError(t, conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&current))
	require.Equal(t, database, current)

	require.NoError(t, conn.Exec(ctx, `CREATE TABLE usage (
		day Date,
		tenant String,
		seq UInt64,
		tokens UInt64,
		tags Array(String)
	) ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (tenant, day, seq)`))

	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO usage (day, tenant, seq, tokens, tags)")
	require.NoError(t, err)
	for seq := uint64(1); seq <= 3; seq++ {
		require.NoError(t, batch.Append(day, "acme", seq, 10*seq, []string{"a", "b"}))
	}
	require.NoError(t, batch.Send())

	var maxSeq, tokens uint64
	require.NoError(t, conn.QueryRow(ctx,
		"SELECT max(seq), sum(tokens) FROM usage WHERE tenant = ? AND day = toDate(?)", "acme", day,
	).Scan(&maxSeq, &tokens))
	require.EqualValues(t, 3, maxSeq)
	require.EqualValues(t, 60, tokens)
}

func TestClickHouseDropsDatabase(t *testing.T) {
	t.Parallel()
	var database string
	t.Run("use", func(t *testing.T) {
		_, database = testkit.ClickHouse(t)
	})

	conn, _ := testkit.ClickHouse(t)
	var n uint64
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT count() FROM system.databases WHERE name = ?", database).Scan(&n))
	require.Zero(t, n, "database %s still exists after its test ended", database)
}

func TestClickHouseAddr(t *testing.T) {
	t.Setenv("TOKENMETER_CLICKHOUSE_ADDR", "")
	require.Equal(t, testkit.DefaultClickHouseAddr, testkit.ClickHouseAddr())
	t.Setenv("TOKENMETER_CLICKHOUSE_ADDR", "10.0.0.1:9000")
	require.Equal(t, "10.0.0.1:9000", testkit.ClickHouseAddr())
}
