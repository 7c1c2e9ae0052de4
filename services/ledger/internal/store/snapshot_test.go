package store

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"

	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Start-up from a snapshot plus the tail equals a full replay.
func TestSnapshotPlusTailEqualsReplay(t *testing.T) {
	url, _ := testkit.NATS(t)
	js := connect(t, url)
	snaps, err := OpenSnapshots(t.Context(), js, 1)
	require.NoError(t, err)
	writer := New(js, slog.Default()).WithSnapshots(snaps, 7)
	seed(t, writer, 1000, 40)
	cat := revitCatalog()
	for i := 0; i < 40; i++ {
		_, err := launch(t.Context(), writer, cat, fmt.Sprintf("l-%d", i), fmt.Sprintf("u%d", i))
		require.NoError(t, err)
	}
	writer.WaitSnapshots()
	_, seq, ok, err := snaps.Load(t.Context(), "acme", "design")
	require.NoError(t, err)
	require.True(t, ok, "a snapshot was written")

	state := func(s *Store) []byte {
		var b []byte
		require.NoError(t, s.Read(t.Context(), "acme", "design", func(p *pool.Pool) {
			var err error
			b, err = p.MarshalSnapshot()
			require.NoError(t, err)
		}))
		return b
	}
	fromSnapshot := New(connect(t, url), slog.Default()).WithSnapshots(snaps, 7)
	replayed := New(connect(t, url), slog.Default())
	require.Equal(t, string(state(replayed)), string(state(fromSnapshot)))
	require.NotZero(t, seq)

	// A snapshot that cannot be read is ignored: the pool is replayed.
	require.NoError(t, snaps.Save(t.Context(), "acme", "design", seq, []byte("{not json")))
	require.Equal(t, string(state(replayed)), string(state(New(connect(t, url), slog.Default()).WithSnapshots(snaps, 7))))
}

// A busy pool's snapshot outgrows one KV value: it is chunked, and read back whole.
func TestLargeSnapshotIsChunked(t *testing.T) {
	url, _ := testkit.NATS(t)
	js := connect(t, url)
	snaps, err := OpenSnapshots(t.Context(), js, 1)
	require.NoError(t, err)
	defer func(size int) { chunkSize = size }(chunkSize)
	chunkSize = 16 << 10 // small chunks, so a small pool shows the chunking
	p := pool.New("acme", "design")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		require.NoError(t, p.Apply(&v1.Event{EventId: id, ServerTime: timestamppb.New(t0),
			Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: id[:8], ProductCode: "REVIT",
				Reason: v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED}}}))
	}
	state, err := p.MarshalSnapshot()
	require.NoError(t, err)
	require.Greater(t, len(state), 256<<10)
	for round := 0; round < 2; round++ { // the second save replaces the first generation
		require.NoError(t, snaps.Save(t.Context(), "acme", "design", uint64(42+round), state))
		back, seq, ok, err := snaps.Load(t.Context(), "acme", "design")
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 42+round, seq)
		got, err := back.MarshalSnapshot()
		require.NoError(t, err)
		require.Equal(t, state, got)
	}
	keys, err := snaps.kv.Keys(t.Context())
	require.NoError(t, err)
	require.Greater(t, len(keys), 2, "head plus several chunks")
	require.Less(t, len(keys), 12, "the first generation's chunks are gone")
}

// A busy pool snapshots further apart: by half the answers it remembers once
// that exceeds the configured spacing, so encoding them costs each event the
// same however many there are; but no further than ten times the configured
// spacing, so the tail a start or a reload replays stays bounded.
func TestBusyPoolSnapshotsByItsSize(t *testing.T) {
	s := New(nil, slog.Default()).WithSnapshots(&Snapshots{}, 1000)
	p := pool.New("acme", "design")
	due := func() uint64 { return s.snapshotDue(&entry{pool: p}) }
	require.EqualValues(t, 1000, due(), "a quiet pool: every 1,000 events")
	for i := range 5000 {
		require.NoError(t, p.Apply(&v1.Event{EventId: fmt.Sprintf("deny-%d", i), ServerTime: timestamppb.New(t0),
			Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{UserId: "u", ProductCode: "REVIT",
				Reason: v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED}}}))
	}
	require.Equal(t, 5000, p.Remembered())
	require.EqualValues(t, 2500, due(), "5,000 answers remembered: every 2,500 events")
	s.snapshotEvery = 200
	require.EqualValues(t, 2000, due(), "5,000 answers, every 200 configured: at most 2,000 events apart")
}
