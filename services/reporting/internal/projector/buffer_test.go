package projector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func rowAt(seq uint64, day time.Time) *Row { return &Row{Seq: seq, Day: day} }

func TestBufferFlushDecisions(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	jan := time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)

	t.Run("empty buffer is never due", func(t *testing.T) {
		t.Parallel()
		b := NewBuffer(3, time.Second)
		require.False(t, b.Due(t0.Add(time.Hour)))
	})
	t.Run("due on count", func(t *testing.T) {
		t.Parallel()
		b := NewBuffer(3, time.Second)
		for seq := uint64(1); seq <= 3; seq++ {
			require.False(t, b.Full())
			r := rowAt(seq, jan)
			require.True(t, b.Fits(r))
			b.Add(r, t0)
			b.Seen(seq, t0)
		}
		require.True(t, b.Full())
		require.True(t, b.Due(t0))
	})
	t.Run("due on age of the oldest row", func(t *testing.T) {
		t.Parallel()
		b := NewBuffer(100, time.Second)
		b.Add(rowAt(1, jan), t0)
		b.Add(rowAt(2, jan), t0.Add(900*time.Millisecond))
		require.False(t, b.Due(t0.Add(999*time.Millisecond)))
		require.True(t, b.Due(t0.Add(time.Second)))
	})
	t.Run("a block never spans partitions", func(t *testing.T) {
		t.Parallel()
		b := NewBuffer(100, time.Second)
		r1, r2, r3 := rowAt(1, jan), rowAt(2, jan), rowAt(3, feb)
		require.True(t, b.Fits(r1))
		b.Add(r1, t0)
		require.True(t, b.Fits(r2))
		b.Add(r2, t0)
		require.False(t, b.Fits(r3))
		b.Reset()
		require.True(t, b.Fits(r3))
	})
	t.Run("position covers skipped events and survives reset", func(t *testing.T) {
		t.Parallel()
		b := NewBuffer(100, time.Second)
		b.Add(rowAt(5, jan), t0)
		b.Seen(5, t0)
		b.Seen(9, t0.Add(time.Second))
		b.Seen(7, t0) // never goes back
		b.Reset()
		seq, at := b.Position()
		require.Equal(t, uint64(9), seq)
		require.Equal(t, t0.Add(time.Second), at)
		require.Zero(t, b.Len())
		require.False(t, b.Due(t0.Add(time.Hour)))
	})
}
