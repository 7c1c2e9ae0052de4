package store

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Sixteen placements of 1 to 16 partitions, each with its own cache, place
// the same new pools at once: each pool gets one partition, the same for
// all of them, and it is recorded.
func TestPlacementRaceAgrees(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	js := connect(t, url)
	require.NoError(t, eventlog.Provision(ctx, js, eventlog.StreamOptions{Partitions: 16}, eventlog.LedgerStreams(16)...))
	placements := make([]*Placement, 16)
	for i := range placements {
		pl, err := OpenPlacement(ctx, js, i+1, 1)
		require.NoError(t, err)
		placements[i] = pl
	}
	const pools = 40
	got := make([][]int, len(placements))
	var wg sync.WaitGroup
	for i, pl := range placements {
		got[i] = make([]int, pools)
		wg.Go(func() {
			for k := range pools {
				p, placed, err := pl.Of(ctx, "acme", fmt.Sprintf("t%02d", k), true)
				require.NoError(t, err)
				require.True(t, placed)
				got[i][k] = p
			}
		})
	}
	wg.Wait()
	fresh, err := OpenPlacement(ctx, js, 3, 1)
	require.NoError(t, err)
	spread := map[int]bool{}
	for k := range pools {
		recorded, placed, err := fresh.Of(ctx, "acme", fmt.Sprintf("t%02d", k), false)
		require.NoError(t, err)
		require.True(t, placed, "recorded")
		for i := range placements {
			require.Equal(t, recorded, got[i][k], "placement of %d partitions, pool t%02d", i+1, k)
		}
		spread[recorded] = true
	}
	require.Greater(t, len(spread), 1, "the winners came from different layouts")
}

// A pool written before placements existed (history in the legacy LEDGER
// stream, no record) keeps the legacy stream, and the record says so; a
// pool never written is not recorded by a read.
func TestPlacementKeepsHistory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	js := connect(t, url)
	require.NoError(t, eventlog.Provision(ctx, js, eventlog.StreamOptions{Partitions: 8}, eventlog.LedgerStreams(8)...))
	_, err := eventlog.Append(ctx, js, subject.LedgerSubject("acme", "old"), &v1.Event{EventId: "old-1", OrgId: "acme", TeamId: "old"}, nil)
	require.NoError(t, err)
	// A pool in a partition stream whose record was lost is found there too.
	_, err = eventlog.Append(ctx, js, subject.LedgerSubjectIn(6, "acme", "moved"), &v1.Event{EventId: "moved-1", OrgId: "acme", TeamId: "moved"}, nil)
	require.NoError(t, err)
	pl, err := OpenPlacement(ctx, js, 8, 1)
	require.NoError(t, err)
	for team, want := range map[string]int{"old": subject.Unpartitioned, "moved": 6} {
		p, placed, err := pl.Of(ctx, "acme", team, false)
		require.NoError(t, err)
		require.Equal(t, want, p, team)
		require.True(t, placed, team)
		entry, err := pl.kv.Get(ctx, "acme."+team)
		require.NoError(t, err, "%s recorded", team)
		require.Equal(t, fmt.Sprint(want), string(entry.Value()))
	}
	p, placed, err := pl.Of(ctx, "acme", "new", false)
	require.NoError(t, err)
	require.False(t, placed)
	require.Equal(t, subject.PartitionOf("acme", "new", 8), p)
	_, err = pl.kv.Get(ctx, "acme.new")
	require.Error(t, err, "a read records nothing")
}

// The sweep's pool list and a team list read every LEDGER stream: pools of
// the legacy stream and of the partitions alike, the catalog not a pool.
func TestPoolsSpanEveryStream(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	js := connect(t, url)
	require.NoError(t, eventlog.Provision(ctx, js, eventlog.StreamOptions{Partitions: 4}, eventlog.LedgerStreams(4)...))
	_, err := eventlog.Append(ctx, js, subject.LedgerSubject("acme", "legacy"), &v1.Event{EventId: "old-1", OrgId: "acme", TeamId: "legacy"}, nil)
	require.NoError(t, err)
	_, err = eventlog.Append(ctx, js, subject.LedgerSubjectIn(2, "acme", subject.CatalogToken), &v1.Event{EventId: "cat-1", OrgId: "acme"}, nil)
	require.NoError(t, err)
	pl, err := OpenPlacement(ctx, js, 4, 1)
	require.NoError(t, err)
	s := New(js, slog.New(slog.DiscardHandler)).WithPlacement(pl)
	var want []string
	for k := range 12 {
		team := fmt.Sprintf("t%02d", k)
		seed := func(p *pool.Pool) ([]*v1.Event, error) {
			ev, err := p.DecideAddPack(pool.AddPack{EventID: "pack-" + team, PackID: "p1", Tokens: 5, At: t0})
			return []*v1.Event{ev}, err
		}
		require.NoError(t, s.Decide(ctx, "acme", team, t0, seed))
		want = append(want, team)
	}
	want = append(want, "legacy")
	pools, err := s.Pools(ctx)
	require.NoError(t, err)
	var got []string
	for _, p := range pools {
		require.Equal(t, "acme", p[0])
		got = append(got, p[1])
	}
	require.ElementsMatch(t, want, got)
	teams, err := s.Teams(ctx, "acme")
	require.NoError(t, err)
	require.ElementsMatch(t, want, teams)
	var legacy int64
	require.NoError(t, s.Read(ctx, "acme", "t03", func(p *pool.Pool) { legacy = p.Available() }))
	require.EqualValues(t, 5, legacy, "read back from its partition")
}
