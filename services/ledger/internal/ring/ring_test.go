package ring

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOwnersAgreeAndSpread(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rings := map[string]*Ring{}
	for _, id := range []string{"a", "b", "c"} {
		rings[id] = New(id, 10*time.Second, clock)
	}
	for _, r := range rings {
		for _, id := range []string{"a", "b", "c"} {
			r.Upsert(Member{ID: id, Addr: id + ":1", Seen: now})
		}
	}
	counts := map[string]int{}
	for i := 0; i < 3000; i++ {
		key := fmt.Sprintf("acme.team-%d", i)
		a, _ := rings["a"].Owner(key)
		b, _ := rings["b"].Owner(key)
		c, selfC := rings["c"].Owner(key)
		require.Equal(t, a.ID, b.ID, "every replica names the same owner")
		require.Equal(t, a.ID, c.ID)
		require.Equal(t, c.ID == "c", selfC)
		counts[a.ID]++
	}
	for id, n := range counts {
		require.InDelta(t, 1000, n, 150, "member %s owns a fair share", id)
	}
}

func TestStaleMembersLoseTheirPools(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := New("a", 10*time.Second, func() time.Time { return now })
	r.Upsert(Member{ID: "a", Seen: now})
	r.Upsert(Member{ID: "b", Seen: now.Add(-time.Minute)})
	for i := 0; i < 100; i++ {
		m, self := r.Owner(fmt.Sprintf("k%d", i))
		require.True(t, self, "b is stale: a owns %s", m.ID)
	}
	r.Upsert(Member{ID: "b", Seen: now})
	owned := 0
	for i := 0; i < 100; i++ {
		if _, self := r.Owner(fmt.Sprintf("k%d", i)); !self {
			owned++
		}
	}
	require.Greater(t, owned, 20, "a live b takes a share")
	r.Remove("b")
	_, self := r.Owner("k1")
	require.True(t, self)
}
