package projector_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

const benchBlock = 5000

// benchRows is one block of charges rows after seq, spread over 16
// organisations (both shards), in one month.
func benchRows(after uint64) []projector.Record {
	rows := make([]projector.Record, benchBlock)
	day := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	for i := range rows {
		seq := after + uint64(i) + 1
		rows[i] = &projector.Row{Seq: seq, EventID: fmt.Sprint("ev-", seq), OrgID: fmt.Sprint("org-", i%16), TeamID: "design",
			UserID: fmt.Sprint("user-", i%100), ProductCode: "REVIT", Day: day, ChargedAt: day, WindowStart: day,
			WindowEnd: day.Add(24 * time.Hour), Tokens: 10}
	}
	return rows
}

func benchInsert(b *testing.B, sink projector.Sink) {
	b.ReportAllocs()
	var after uint64
	for b.Loop() {
		b.StopTimer()
		rows := benchRows(after)
		after += benchBlock
		b.StartTimer()
		if err := sink.Insert(b.Context(), rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBlock)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkShardedInsert inserts 5000-row charges blocks into one server's
// table (ClickHouseSink, the raw component) and across the dev cluster's 2
// shards x 2 replicas (ShardedSink: a part per shard, replicated). Compare
// rows/s of the two in the same run.
func BenchmarkShardedInsert(b *testing.B) {
	b.Run("one-server", func(b *testing.B) {
		conn, _ := testkit.ClickHouse(b)
		_, err := schema.Migrate(b.Context(), conn)
		require.NoError(b, err)
		benchInsert(b, projector.NewClickHouseSink(conn, projector.Charges, subject.Unpartitioned))
	})
	b.Run("cluster-2x2", func(b *testing.B) {
		cl := testkit.ClickHouseCluster(b)
		for _, addr := range cl.Nodes {
			_, err := schema.MigrateNode(b.Context(), cl.Open(b, addr), schema.Cluster{Name: cl.Name, Database: cl.Database})
			require.NoError(b, err)
		}
		var shards []projector.Shard
		for _, pair := range [][]string{cl.Nodes[:2], cl.Nodes[2:]} {
			shards = append(shards, projector.Shard{Conn: cl.Open(b, pair...), Replicas: []driver.Conn{cl.Open(b, pair[0]), cl.Open(b, pair[1])}})
		}
		sink, err := projector.NewShardedSink(shards, schema.NewShardRanges([]uint32{1, 1}), projector.Charges, subject.Unpartitioned)
		require.NoError(b, err)
		benchInsert(b, sink)
	})
}
