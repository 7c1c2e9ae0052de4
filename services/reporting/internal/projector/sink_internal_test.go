package projector

import (
	"errors"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// An insert whose client gave up (its timeout, a lease's fence) can still
// land: the table's position in its stream is not read while one of its
// inserts runs on the server, so a resume does not write those rows again.
// Other tables and streams are not held up.
func TestMaxSeqWaitsForAnInsertStillRunning(t *testing.T) {
	t.Parallel()
	ch, _ := testkit.ClickHouse(t)
	ctx := t.Context()
	_, err := schema.Migrate(ctx, ch)
	require.NoError(t, err)
	sink, other := NewClickHouseSink(ch, Charges, 2), NewClickHouseSink(ch, Charges, 1)
	prefix, err := sink.queryPrefix(ctx)
	require.NoError(t, err)

	landed := make(chan error, 1)
	go func() {
		landed <- ch.Exec(clickhouse.Context(ctx, clickhouse.WithQueryID(prefix+"slow")),
			"INSERT INTO charges_v2 (seq, stream_part) SELECT number + 1, 2 FROM numbers(4) WHERE sleepEachRow(0.4) = 0")
	}()
	require.Eventually(t, func() bool {
		var n uint64
		require.NoError(t, ch.QueryRow(ctx, "SELECT count() FROM system.processes WHERE query_id = ?", prefix+"slow").Scan(&n))
		return n == 1
	}, 5*time.Second, 5*time.Millisecond)

	_, err = sink.MaxSeq(ctx)
	require.True(t, errors.Is(err, ErrInsertRunning), "resuming now would miss the rows about to land: %v", err)
	seq, err := other.MaxSeq(ctx)
	require.NoError(t, err, "another stream's position is readable")
	require.Zero(t, seq)

	require.NoError(t, <-landed)
	// The server lists the insert until a moment after its client has the
	// answer, so the position is readable again soon, not at once.
	require.Eventually(t, func() bool {
		seq, err = sink.MaxSeq(ctx)
		return !errors.Is(err, ErrInsertRunning)
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, uint64(4), seq)
}
