package projector_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
)

// partition narrows base's stream (LEDGER or USAGE) to the one-stream
// layout's subjects and creates n partition streams beside it, as
// provisioning a partitioned log does.
func partition(t *testing.T, js jetstream.JetStream, base string, n int) {
	t.Helper()
	names := eventlog.LedgerStreams(n)
	if base == eventlog.UsageStream {
		names = eventlog.UsageStreams(n)
	}
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{Update: true, Partitions: n}, names...))
}

// partitionPools are pools of a log split in 3 partitions (each pool in the
// partition its hash gives) plus one left on the one-stream layout, with
// uneven event counts so the streams' sequences differ.
var partitionPools = []struct {
	org, team string
	events    int
	legacy    bool
}{
	{"acme", "design", 31, false}, {"acme", "ops", 7, false}, {"globex", "eng", 19, false},
	{"initech", "tps", 4, false}, {"umbrella", "labs", 23, false}, {"acme", "legacy", 11, true},
}

// publishPools appends half of every pool's events (interleaved) on the
// partitioned layout, or all on the one-stream layout; it returns each
// stream's last sequence.
func publishPools(t *testing.T, e *env, partitioned bool) map[string]uint64 {
	t.Helper()
	last := map[string]uint64{}
	for round := 0; ; round++ {
		more := false
		for _, p := range partitionPools {
			if round >= p.events/2 {
				continue
			}
			more = true
			part := subject.Unpartitioned
			if partitioned && !p.legacy {
				part = subject.PartitionOf(p.org, p.team, 3)
			}
			e.publishOn(t, subject.LedgerSubjectIn(part, p.org, p.team), p.org, p.team, 1, int64(3+len(p.team)))
			last[subject.LedgerStreamOf(part)] = e.last
		}
		if !more {
			return last
		}
	}
}

// runStreams projects every LEDGER table from each stream, each table's
// sink failing once before and once after its insert lands, until each
// stream is projected up to want; then stops them. It returns where each
// run resumed.
func runStreams(t *testing.T, e *env, want map[string]uint64) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resumed, projs, done := map[string]uint64{}, map[string]*projector.Projector{}, make(chan error, len(want))
	for stream := range want {
		part, ok := subject.PartitionOfStream(stream, eventlog.LedgerStream)
		require.True(t, ok, stream)
		var tables []projector.Table
		for _, p := range projector.Projections() {
			if p.Stream == eventlog.LedgerStream {
				sink := &crashingSink{Sink: projector.NewClickHouseSink(e.ch, p, part), t: t}
				sink.failBefore.Store(1)
				sink.failAfter.Store(1)
				tables = append(tables, projector.Table{Projection: p, Sink: sink})
			}
		}
		proj, err := projector.NewStream(e.js, stream, tables, e.log,
			projector.Options{BatchSize: 5, FlushInterval: 10 * time.Millisecond, RetryDelay: 5 * time.Millisecond})
		require.NoError(t, err)
		projs[stream] = proj
		go func() { done <- proj.Run(ctx) }()
	}
	for stream, proj := range projs {
		require.Eventually(t, func() bool { return proj.CaughtUpTo() >= want[stream] }, 20*time.Second, 5*time.Millisecond, stream)
	}
	cancel()
	for range projs {
		require.NoError(t, <-done)
	}
	for stream, proj := range projs {
		resumed[stream] = proj.ResumedAfter()
	}
	return resumed
}

type poolTotal struct {
	org, team      string
	tokens, events int64
}

func poolTotals(t *testing.T, e *env, table, value string) []poolTotal {
	t.Helper()
	rows, err := e.ch.Query(t.Context(), fmt.Sprintf(
		"SELECT org_id, team_id, toInt64(sum(%s)), toInt64(count()) FROM %s GROUP BY org_id, team_id ORDER BY org_id, team_id", value, table))
	require.NoError(t, err)
	defer rows.Close()
	var out []poolTotal
	for rows.Next() {
		var p poolTotal
		require.NoError(t, rows.Scan(&p.org, &p.team, &p.tokens, &p.events))
		out = append(out, p)
	}
	require.NoError(t, rows.Err())
	return out
}

// Three partition streams and the one-stream layout's LEDGER project into
// the same tables; every sink fails before and after its inserts land and
// every projector is stopped half-way and started again: each stream
// resumes from its own position (the streams' sequences overlap), and the
// tables hold what one stream of the same events gives, no row twice.
func TestPartitionStreamsProjectLikeOneStream(t *testing.T) {
	t.Parallel()
	split, one := newEnv(t), newEnv(t)
	partition(t, split.js, eventlog.LedgerStream, 3)
	first := publishPools(t, split, true)
	require.Len(t, first, 4, "every partition and the legacy stream hold events")
	runStreams(t, split, first)

	second := publishPools(t, split, true)
	resumed := runStreams(t, split, second)
	for stream, seq := range first {
		require.Equal(t, seq, resumed[stream], "%s resumes after its own last projected event", stream)
	}

	publishPools(t, one, false)
	publishPools(t, one, false)
	runStreams(t, one, map[string]uint64{eventlog.LedgerStream: one.last})

	for table, value := range map[string]string{"charges_v2": "tokens", "pool_events_v2": "tokens", "launches_v2": "tokens"} {
		require.Equal(t, poolTotals(t, one, table, value), poolTotals(t, split, table, value), "%s: the same as on one stream", table)
		var rows, keys uint64
		require.NoError(t, split.ch.QueryRow(context.Background(),
			"SELECT count(), uniqExact(stream_part, seq) FROM "+table).Scan(&rows, &keys))
		require.Equal(t, rows, keys, "%s: no event twice", table)
		require.NotZero(t, rows, table)
	}
}
