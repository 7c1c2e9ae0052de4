package ring

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Of the live replicas only the lowest id is first; when it goes quiet the
// next one is; a replica outside any ring acts alone.
func TestFirstIsTheLowestLiveReplica(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	a, b := New("a", time.Second, clock), New("b", time.Second, clock)
	for _, r := range []*Ring{a, b} {
		r.Apply("a", []byte("a:1"), true)
		r.Apply("b", []byte("b:1"), true)
	}
	fa, fb := NewForwarder(a, nil, nil), NewForwarder(b, nil, nil)
	require.True(t, fa.First())
	require.False(t, fb.First())
	now = now.Add(2 * time.Second)
	b.Apply("b", []byte("b:1"), true)
	require.True(t, fb.First(), "a not heard of for longer than staleAfter")
	require.True(t, (*Forwarder)(nil).First())
}
