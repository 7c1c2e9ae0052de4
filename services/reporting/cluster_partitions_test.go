package reporting_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// partitionOf is the stream partition each of partitionTeams writes to.
var partitionOf = map[string]int{"legacy": subject.Unpartitioned, "design": 0, "ops": 1, "late": 2}

// chargeEvery appends n charges of 10 tokens for each organisation's team in
// its partition stream, with ids from..from+n-1.
func chargeEvery(t *testing.T, js jetstream.JetStream, orgs []string, from, n int) (tokens int64) {
	t.Helper()
	at := time.Now().UTC().Add(-time.Hour)
	for i := from; i < from+n; i++ {
		for _, org := range orgs {
			for _, team := range partitionTeams {
				ev := charge(org, team, fmt.Sprintf("%s-%s-%d", org, team, i), "REVIT", 10, at)
				_, err := eventlog.Append(t.Context(), js, subject.LedgerSubjectIn(partitionOf[team], org, team), ev, nil)
				require.NoError(t, err)
				tokens += 10
			}
		}
	}
	return tokens
}

// partitionReports answers the usage reports of the partition teams as JSON.
func partitionReports(t *testing.T, addr, key string) map[string]string {
	t.Helper()
	c := client(t, addr, key)
	ctx := t.Context()
	out := map[string]string{}
	add := func(name string, m proto.Message, err error) {
		if err != nil {
			out[name] = "error: " + err.Error()
			return
		}
		out[name] = protojson.Format(m)
	}
	r1, err := c.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: partitionTeams})
	add("summary", r1, err)
	r2, err := c.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: partitionTeams})
	add("by day", r2, err)
	r3, err := c.GetUsageByUser(ctx, &v1.GetUsageByUserRequest{TeamIds: partitionTeams, Limit: 10})
	add("by user", r3, err)
	for _, team := range partitionTeams {
		r, err := c.GetUsageByDay(ctx, &v1.GetUsageByDayRequest{TeamIds: []string{team}})
		add("by day "+team, r, err)
	}
	return out
}

// Reporting on the 2x2 cluster projects the one-stream layout and three
// partition streams into both shards; stopped half-way and started again, it
// resumes each table per stream partition and shard, and answers as one
// server does, every charge once.
func TestClusterProjectsPartitionStreamsAsOneServer(t *testing.T) {
	cl := testkit.ClickHouseCluster(t)
	natsURL, _ := testkit.NATS(t)
	oneCfg := serviceConfig(t, natsURL)
	clCfg := serviceConfig(t, natsURL)
	onCluster(cl)(&clCfg)
	clCfg.FlushRows, clCfg.FlushInterval = 7, 10*time.Millisecond
	addPartitions(t, natsURL, 0, 3)
	js := logAs(t, natsURL, "ledger")
	orgs := []string{"acme", "globex"}
	require.NotEqual(t, shardOf(t, cl, "acme"), shardOf(t, cl, "globex"), "the organisations live on different shards")

	want := chargeEvery(t, js, orgs, 0, 10)
	first, stop := runService(t, clCfg)
	require.Eventually(t, func() bool { return first.CaughtUp(t.Context(), eventlog.LedgerStream) }, 30*time.Second, 10*time.Millisecond)
	want += chargeEvery(t, js, orgs, 10, 10)
	stop() // half-way through the second round, most likely
	want += chargeEvery(t, js, orgs, 20, 5)

	clustered, _ := runService(t, clCfg)
	one, _ := runService(t, oneCfg)
	for _, svc := range []*reporting.Service{one, clustered} {
		require.Eventually(t, func() bool { return svc.CaughtUp(t.Context(), eventlog.LedgerStream) }, 30*time.Second, 10*time.Millisecond)
	}
	for org, key := range map[string]string{"acme": acmeKey, "globex": globexKey} {
		wantReports := partitionReports(t, one.Addr(), key)
		require.Equal(t, want/2, teamsTotal(t, one, key), "%s on one server", org)
		var got map[string]string
		assert.Eventually(t, func() bool {
			got = partitionReports(t, clustered.Addr(), key)
			return fmt.Sprint(got) == fmt.Sprint(wantReports)
		}, 15*time.Second, 100*time.Millisecond, "%s's reports on the cluster", org)
		for name := range wantReports {
			require.Equal(t, wantReports[name], got[name], "%s %s", org, name)
			require.NotContains(t, wantReports[name], "error:", "%s %s", org, name)
		}
	}
	var rows, distinct, parts uint64
	require.NoError(t, cl.Open(t, cl.Nodes...).QueryRow(t.Context(),
		"SELECT count(), uniqExact(stream_part, seq), uniqExact(stream_part) FROM charges_v2").Scan(&rows, &distinct, &parts))
	require.Equal(t, uint64(want/10), rows, "every charge once on the cluster")
	require.Equal(t, rows, distinct)
	require.Equal(t, uint64(4), parts, "the one-stream layout and three partitions")
}

// shardOf is org's shard (1-based) on the dev cluster, whose two shards
// weigh the same, by the server's own sharding key.
func shardOf(t *testing.T, cl testkit.CHCluster, org string) uint64 {
	t.Helper()
	var shard uint64
	require.NoError(t, cl.Open(t, cl.Nodes[0]).QueryRow(t.Context(),
		"SELECT toUInt64(halfMD5(?) % 2)", org).Scan(&shard))
	return shard + 1
}

// teamsTotal is the tokens of the partition teams of key's organisation.
func teamsTotal(t *testing.T, svc interface{ Addr() string }, key string) int64 {
	r, err := client(t, svc.Addr(), key).GetUsageByDay(t.Context(), &v1.GetUsageByDayRequest{TeamIds: partitionTeams})
	require.NoError(t, err)
	return r.GetTotalTokens()
}
