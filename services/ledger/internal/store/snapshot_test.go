package store

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"

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
