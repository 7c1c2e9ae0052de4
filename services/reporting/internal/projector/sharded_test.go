package projector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// clusterEnv is env on the dev ClickHouse cluster: e.ch reads through the
// Distributed tables; shards are a connection per shard listing its replicas.
type clusterEnv struct {
	*env
	cl     testkit.CHCluster
	shards []projector.Shard
	ranges schema.ShardRanges
}

func newClusterEnv(t *testing.T) *clusterEnv {
	t.Helper()
	cl := testkit.ClickHouseCluster(t)
	url, _ := testkit.NATS(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "admin"), "reporting-test", log,
		eventlog.Streams{Own: []string{eventlog.LedgerStream, eventlog.UsageStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	for _, addr := range cl.Nodes {
		_, err := schema.MigrateNode(t.Context(), cl.Open(t, addr), schema.Cluster{Name: cl.Name, Database: cl.Database})
		require.NoError(t, err)
	}
	return &clusterEnv{
		env: &env{js: js, ch: cl.Open(t, cl.Nodes...), log: log},
		cl:  cl,
		shards: []projector.Shard{
			{Conn: cl.Open(t, cl.Nodes[0], cl.Nodes[1]), Replicas: []driver.Conn{cl.Open(t, cl.Nodes[0]), cl.Open(t, cl.Nodes[1])}},
			{Conn: cl.Open(t, cl.Nodes[2], cl.Nodes[3]), Replicas: []driver.Conn{cl.Open(t, cl.Nodes[2]), cl.Open(t, cl.Nodes[3])}},
		},
		ranges: schema.NewShardRanges([]uint32{1, 1}),
	}
}

func (e *clusterEnv) sink(t *testing.T) *projector.ShardedSink {
	t.Helper()
	s, err := projector.NewShardedSink(e.shards, e.ranges, projector.Charges, subject.Unpartitioned)
	require.NoError(t, err)
	return s
}

// publishOrgs appends rounds events for each org in turn, so that blocks mix
// both shards' organisations.
func (e *clusterEnv) publishOrgs(t *testing.T, orgs []string, rounds int) (tokens int64, charges int) {
	t.Helper()
	for range rounds {
		for _, org := range orgs {
			n, c := e.publish(t, org, "design", 1, 10)
			tokens, charges = tokens+n, charges+c
		}
	}
	return tokens, charges
}

// orgsOnBothShards returns organisations of which some live on each shard.
func (e *clusterEnv) orgsOnBothShards(t *testing.T) []string {
	orgs := []string{"acme", "globex", "initech", "umbrella", "hooli", "stark"}
	on := map[int]bool{}
	for _, o := range orgs {
		on[e.ranges.Of(o)] = true
	}
	require.Len(t, on, 2, "the test's organisations cover both shards")
	return orgs
}

// shardRows counts each shard's charges rows and distinct sequences on the
// shard's own tables (on the replica its connection reaches).
func (e *clusterEnv) shardRows(t *testing.T) (rows, seqs [2]uint64) {
	t.Helper()
	for i, sh := range e.shards {
		require.NoError(t, sh.Conn.QueryRow(t.Context(), "SELECT count(), uniqExact(seq) FROM charges_v2_local").Scan(&rows[i], &seqs[i]))
	}
	return rows, seqs
}

// requireReplicatedTotals is requireTotals once every replica has fetched
// the parts: reads through the Distributed tables may pick either replica.
func (e *clusterEnv) requireReplicatedTotals(t *testing.T, tokens int64, charges int) {
	t.Helper()
	n := uint64(charges)
	want := totals{Rows: n, DistinctSeqs: n, DistinctEvents: n, Tokens: tokens, DailyTokens: tokens, DailyCharges: n}
	var got totals
	assert.Eventually(t, func() bool { got = e.totals(t); return got == want }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, want, got)
}

// maxShardSeq is the highest sequence either shard holds.
func (e *clusterEnv) maxShardSeq(t *testing.T) uint64 {
	t.Helper()
	var high uint64
	for _, sh := range e.shards {
		var seq uint64
		require.NoError(t, sh.Conn.QueryRow(t.Context(), "SELECT max(seq) FROM charges_v2_local").Scan(&seq))
		high = max(high, seq)
	}
	return high
}

// stopFetches stops the replica at addr fetching charges_v2_local parts
// until the returned function or the test's end starts it again.
func (e *clusterEnv) stopFetches(t *testing.T, addr string) (start func()) {
	t.Helper()
	table := e.cl.Database + ".charges_v2_local"
	require.NoError(t, e.cl.Open(t, addr).Exec(t.Context(), "SYSTEM STOP FETCHES "+table))
	start = func() {
		require.NoError(t, e.cl.Open(t, addr).Exec(context.Background(), "SYSTEM START FETCHES "+table))
	}
	t.Cleanup(func() { _ = e.cl.Open(t, addr).Exec(context.Background(), "SYSTEM START FETCHES "+table) })
	return start
}

// insertAcmeCharges inserts n charges of acme (seq 1..n) as one block into
// charges_v2_local on the replica at addr.
func (e *clusterEnv) insertAcmeCharges(t *testing.T, addr string, n int) {
	t.Helper()
	var rows []projector.Record
	for i := range n {
		rows = append(rows, &projector.Row{Seq: uint64(i + 1), EventID: fmt.Sprint("ev-", i), OrgID: "acme", TeamID: "design",
			Day: base, ChargedAt: base, WindowStart: base, WindowEnd: base})
	}
	local := projector.Charges
	local.Table = schema.LocalTable(local.Table)
	require.NoError(t, projector.NewClickHouseSink(e.cl.Open(t, addr), local, subject.Unpartitioned).Insert(t.Context(), rows))
}

// A projector stopped between one shard's insert and the next shard's, and
// started again, leaves every row on its shard exactly once: the restart
// reads again from the lower shard's point, and the shard that took the
// block skips what it holds.
func TestShardedSinkStopBetweenShardsProjectsEachShardOnce(t *testing.T) {
	e := newClusterEnv(t)
	tokens, charges := e.publishOrgs(t, e.orgsOnBothShards(t), 8)

	sink := e.sink(t)
	killed := make(chan struct{})
	var once sync.Once
	dead := false
	projector.SetBeforeShard(sink, func(_ context.Context, _, done int) error {
		if done > 0 || dead {
			dead = true // a dead process writes nothing more
			once.Do(func() { close(killed) })
			return errors.New("killed between the shards' inserts")
		}
		return nil
	})
	_, stop := e.run(t, sink)
	select {
	case <-killed:
	case <-time.After(10 * time.Second):
		t.Fatal("no block reached one shard and not the other")
	}
	stop()
	rows, _ := e.shardRows(t)
	require.Positive(t, rows[0]+rows[1], "the first shard took its part before the stop")

	// Other block bounds than the first run's: replication's deduplication of
	// an identical block cannot hide a row inserted twice.
	p2, err := projector.New(e.js, projector.Charges, e.sink(t), e.log, projector.Options{
		BatchSize: 3, FlushInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p2.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	e.waitCaughtUp(t, p2)
	require.Less(t, p2.ResumedAfter(), e.maxShardSeq(t), "the restart read again rows a shard holds")
	e.requireReplicatedTotals(t, tokens, charges)
	rows, seqs := e.shardRows(t)
	require.Equal(t, seqs, rows, "each shard holds each of its rows once")
	require.Positive(t, rows[0])
	require.Positive(t, rows[1])
}

// A block retried on the other replica of a shard (the first took it, the
// answer was lost) is deduplicated by replication.
func TestShardRetryOnOtherReplicaIsDeduplicated(t *testing.T) {
	e := newClusterEnv(t)
	e.publish(t, "acme", "design", 6, 10)
	shard := e.ranges.Of("acme")
	stream, err := e.js.Stream(t.Context(), eventlog.LedgerStream)
	require.NoError(t, err)
	var rows []projector.Record
	for seq := uint64(1); seq <= e.last; seq++ {
		msg, err := stream.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		ev, err := eventlog.Decode(msg.Data)
		require.NoError(t, err)
		if r, ok := projector.Charges.Map(seq, ev); ok && r.Partition() == 202502 {
			rows = append(rows, r)
		}
	}
	require.NotEmpty(t, rows)
	local := projector.Charges
	local.Table = schema.LocalTable(local.Table)
	for _, addr := range e.cl.Nodes[shard*2 : shard*2+2] {
		require.NoError(t, projector.NewClickHouseSink(e.cl.Open(t, addr), local, subject.Unpartitioned).Insert(t.Context(), rows))
	}
	var n uint64
	require.Eventually(t, func() bool {
		for _, addr := range e.cl.Nodes[shard*2 : shard*2+2] {
			err := e.cl.Open(t, addr).QueryRow(t.Context(), "SELECT count() FROM charges_v2_local").Scan(&n)
			if err != nil || n != uint64(len(rows)) {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, fmt.Sprintf("each replica holds the block once (last count %d, want %d)", n, len(rows)))
}

// A shard that receives no rows still moves on: the table's checkpoints
// reach every shard, so a restart does not read the stream from its start.
func TestShardedSinkCheckpointsEveryShard(t *testing.T) {
	e := newClusterEnv(t)
	e.publish(t, "acme", "design", 30, 10) // acme's shard only; the last event is skipped
	sink := e.sink(t)
	p, err := projector.New(e.js, projector.Charges, sink, e.log, projector.Options{
		BatchSize: 7, FlushInterval: 20 * time.Millisecond, RetryDelay: 10 * time.Millisecond, CheckpointInterval: 20 * time.Millisecond,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	e.waitCaughtUp(t, p)
	require.Eventually(t, func() bool {
		seq, err := e.sink(t).MaxSeq(t.Context())
		return err == nil && seq == e.last
	}, 10*time.Second, 20*time.Millisecond, "the lowest shard point reaches the stream's end")
}

// A shard's resume point is the highest any of its replicas holds: the
// replica its connection reaches first may not have fetched the newest part
// yet, and resuming from it would insert that part's rows again.
func TestShardedSinkResumesFromTheReplicaFurthestAhead(t *testing.T) {
	e := newClusterEnv(t)
	shard := e.ranges.Of("acme")
	first, second := e.cl.Nodes[shard*2], e.cl.Nodes[shard*2+1]
	e.stopFetches(t, first)
	e.insertAcmeCharges(t, second, 5)
	var onFirst uint64
	require.NoError(t, e.cl.Open(t, first).QueryRow(t.Context(), "SELECT count() FROM charges_v2_local").Scan(&onFirst))
	require.Zero(t, onFirst, "the first replica has not fetched the part")

	sink := e.sink(t)
	_, err := sink.MaxSeq(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(5), projector.Points(sink)[shard], "acme's shard resumes after the part its second replica holds")
}

// An insert still running on any replica of a shard (the shard's insert
// connection may have reached either) holds the shard's resume point back,
// as on one server: the replica that answers without it does not stand in.
func TestShardedSinkWaitsForAnInsertStillRunningOnAnyReplica(t *testing.T) {
	e := newClusterEnv(t)
	const part = 2
	sink, err := projector.NewShardedSink(e.shards, e.ranges, projector.Charges, part)
	require.NoError(t, err)
	second := e.cl.Open(t, e.cl.Nodes[1]) // shard 1's second replica
	queryID := fmt.Sprintf("projector.%s.charges_v2_local.%d.slow", e.cl.Database, part)
	landed := make(chan error, 1)
	go func() {
		landed <- second.Exec(clickhouse.Context(t.Context(), clickhouse.WithQueryID(queryID)),
			"INSERT INTO charges_v2_local (seq, org_id, stream_part) SELECT number + 1, 'acme', 2 FROM numbers(4) WHERE sleepEachRow(0.4) = 0")
	}()
	require.Eventually(t, func() bool {
		var n uint64
		require.NoError(t, second.QueryRow(t.Context(), "SELECT count() FROM system.processes WHERE query_id = ?", queryID).Scan(&n))
		return n == 1
	}, 5*time.Second, 5*time.Millisecond)

	_, err = sink.MaxSeq(t.Context())
	require.ErrorIs(t, err, projector.ErrInsertRunning, "resuming now would write the rows about to land again")

	require.NoError(t, <-landed)
	_, err = sink.MaxSeq(t.Context())
	require.NoError(t, err)
	require.Equal(t, uint64(4), projector.Points(sink)[0], "shard 1 resumes after the landed rows")
}

// A replica that does not answer may still be landing an insert the client
// gave up on, so its shard's point waits for it; one whose port refuses
// connections runs nothing, and the shard goes on without it.
func TestShardedSinkWaitsForAReplicaThatDoesNotAnswer(t *testing.T) {
	e := newClusterEnv(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks
	require.NoError(t, err)
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refusing := closed.Addr().String()
	require.NoError(t, closed.Close())

	withReplica := func(addr string) *projector.ShardedSink {
		shards := slices.Clone(e.shards)
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Database: e.cl.Database},
			DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		shards[0].Replicas = append(slices.Clone(shards[0].Replicas), conn)
		s, err := projector.NewShardedSink(shards, e.ranges, projector.Charges, subject.Unpartitioned)
		require.NoError(t, err)
		return s
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = withReplica(silent.Addr().String()).MaxSeq(ctx)
	require.Error(t, err, "a silent replica holds its shard's point back")
	_, err = withReplica(refusing).MaxSeq(t.Context())
	require.NoError(t, err, "a replica whose port refuses runs no insert")
}

// A replica killed after committing a part its peer had not fetched yet
// holds that part alone: the shard's point waits until the peer has it (the
// dead one back), since resuming from the peer's max(seq) would insert the
// part's rows again, and the restarted replica would bring them back twice.
func TestShardedSinkWaitsForAPartOnlyADeadReplicaHolds(t *testing.T) {
	e := newClusterEnv(t)
	shard := e.ranges.Of("acme")
	first, second := e.cl.Nodes[shard*2], e.cl.Nodes[shard*2+1]
	startFetches := e.stopFetches(t, second)
	e.insertAcmeCharges(t, first, 5)
	node := e.cl.Node(t, shard+1, 1)
	require.NoError(t, node.Kill())

	sink := e.sink(t)
	_, err := sink.MaxSeq(t.Context())
	require.ErrorIs(t, err, projector.ErrReplicaBehind, "the part's rows would be projected again")
	startFetches()
	time.Sleep(500 * time.Millisecond) // a fetch from the dead replica fails; the point still waits
	_, err = sink.MaxSeq(t.Context())
	require.ErrorIs(t, err, projector.ErrReplicaBehind)

	require.NoError(t, node.Start())
	require.Eventually(t, func() bool {
		_, err := sink.MaxSeq(t.Context())
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "the peer fetches the part once its replica is back")
	require.Equal(t, uint64(5), projector.Points(sink)[shard], "acme's shard resumes after the part")
}
