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

// A reader that is no member (ingestion) ranks the same owner first as every
// member names, and a gone owner's pools spread over the others.
func TestReaderRanksTheMembersOwnerFirst(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	reader, member := New("", StaleAfter, clock), New("a", StaleAfter, clock)
	for _, id := range []string{"a", "b", "c"} {
		reader.Apply(id, []byte(" "+id+":1\n"), true)
		member.Apply(id, []byte(id+":1"), true)
	}
	second := map[string]int{}
	for i := 0; i < 3000; i++ {
		key := PoolKey("acme", fmt.Sprintf("team-%d", i))
		ranked := reader.Ranked(key)
		require.Len(t, ranked, 3)
		owner, _ := member.Owner(key)
		require.Equal(t, owner.ID, ranked[0].ID, "reader and member agree on %s", key)
		require.Equal(t, ranked[0].ID+":1", ranked[0].Addr, "the address is the trimmed value")
		if ranked[0].ID == "a" {
			second[ranked[1].ID]++
		}
	}
	require.InDelta(t, 500, second["b"], 120, "a's pools go to b and c alike when a is gone")
	require.InDelta(t, 500, second["c"], 120)
	reader.Apply("a", nil, false)
	for i := 0; i < 100; i++ {
		key := PoolKey("acme", fmt.Sprintf("team-%d", i))
		require.NotEqual(t, "a", reader.Ranked(key)[0].ID, "a withdrew")
	}
}
