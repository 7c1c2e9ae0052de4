package projector

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDiscardedCountsEachMissingEventOnce(t *testing.T) {
	t.Parallel()
	var a discarded
	_, n := a.gap(0, 0)
	require.Zero(t, n, "nothing read yet")
	from, n := a.gap(10, 11)
	require.Zero(t, n, "the stream goes on right after")
	require.Equal(t, uint64(11), from)
	from, n = a.gap(10, 15)
	require.Equal(t, [2]uint64{11, 4}, [2]uint64{from, n}, "11..14 discarded")
	_, n = a.gap(10, 15)
	require.Zero(t, n, "a restart before moving on counts them once")
	from, n = a.gap(10, 20)
	require.Equal(t, [2]uint64{15, 5}, [2]uint64{from, n}, "only the newly discarded")
	_, n = a.gap(30, 25)
	require.Zero(t, n, "resumed past the stream's start")
	from, n = a.gap(30, 33)
	require.Equal(t, [2]uint64{31, 2}, [2]uint64{from, n}, "between two messages read")
}
