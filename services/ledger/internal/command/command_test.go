package command

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const org = "acme"

// pools is a store on a fresh embedded NATS server, with a hook run before
// the next decision on a team (once): a test uses it to change a pool between the two
// steps of a use case, through the same store.
type pools struct {
	*store.Store
	before map[string]func() error
	// readFails, when set for a team, is the error of its next Read (once).
	readFails map[string]error
}

func (p *pools) Read(ctx context.Context, org, team string, fn func(*pool.Pool)) error {
	if err := p.readFails[team]; err != nil {
		delete(p.readFails, team)
		return err
	}
	return p.Store.Read(ctx, org, team, fn)
}

func (p *pools) Decide(ctx context.Context, org, team string, now time.Time, decide pool.Command) error {
	if hook := p.before[team]; hook != nil {
		delete(p.before, team)
		if err := hook(); err != nil {
			return err
		}
	}
	return p.Store.Decide(ctx, org, team, now, decide)
}

func newPools(t *testing.T) *pools {
	t.Helper()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "ledger"))
	require.NoError(t, err)
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{}, eventlog.LedgerStream))
	return &pools{Store: store.New(js, slog.Default()), before: map[string]func() error{}, readFails: map[string]error{}}
}

// fund gives team a pack of tokens expiring in 30 days and one user.
func fund(t *testing.T, p *pools, team string, tokens int64) {
	t.Helper()
	require.NoError(t, p.Store.Decide(t.Context(), org, team, t0, func(pl *pool.Pool) ([]*v1.Event, error) {
		return single(pl.DecideAddPack(pool.AddPack{EventID: "pack-" + team, PackID: "p1", Tokens: tokens,
			ExpiresAt: t0.Add(30 * 24 * time.Hour), At: t0}))
	}))
	require.NoError(t, p.Store.Decide(t.Context(), org, team, t0, func(pl *pool.Pool) ([]*v1.Event, error) {
		return single(pl.DecideAssign("assign-"+team, "user-"+team, []string{"*"}, t0, nil))
	}))
}

// suspend merges team into elsewhere, through the store alone.
func suspend(ctx context.Context, p *pools, team string) error {
	return p.Store.Decide(ctx, org, team, t0, func(pl *pool.Pool) ([]*v1.Event, error) {
		return single(pl.DecideMerge("close-"+team, "elsewhere", "closed", t0, nil))
	})
}

// balance reads team's pool: available tokens, and the packs it holds.
func balance(t *testing.T, p *pools, team string) (available int64, packs []string) {
	t.Helper()
	require.NoError(t, p.Read(t.Context(), org, team, func(pl *pool.Pool) {
		available = pl.BalanceAt(t0).Available
		for _, pk := range pl.Packs() {
			packs = append(packs, pk.ID)
		}
	}))
	return available, packs
}

func TestMoveTokens(t *testing.T) {
	p := newPools(t)
	fund(t, p, "design", 100)
	move := MoveTokens{Org: org, From: "design", To: "civil", EventID: "mv-1", Reason: "peak", Tokens: 30, At: t0}
	h := MoveTokensHandler{Pools: p}

	require.NoError(t, h.Handle(t.Context(), move))
	require.NoError(t, h.Handle(t.Context(), move), "a retry changes nothing")

	from, _ := balance(t, p, "design")
	to, packs := balance(t, p, "civil")
	require.EqualValues(t, 70, from)
	require.EqualValues(t, 30, to)
	require.Equal(t, []string{pool.MovedPackID("mv-1", "p1")}, packs)
}

// The second step failing for a passing reason leaves the move recorded at
// the source; the same event id sent again completes it, once.
func TestMoveTokensRetryCompletes(t *testing.T) {
	p := newPools(t)
	fund(t, p, "design", 100)
	move := MoveTokens{Org: org, From: "design", To: "civil", EventID: "mv-2", Reason: "peak", Tokens: 40, At: t0}
	h := MoveTokensHandler{Pools: p}
	lost := errors.New("connection lost")
	p.before["civil"] = func() error { return lost } // once

	require.ErrorIs(t, h.Handle(t.Context(), move), lost)
	from, _ := balance(t, p, "design")
	to, _ := balance(t, p, "civil")
	require.EqualValues(t, 60, from, "the source recorded the move")
	require.EqualValues(t, 0, to, "the target has nothing yet")

	require.NoError(t, h.Handle(t.Context(), move))
	from, _ = balance(t, p, "design")
	to, _ = balance(t, p, "civil")
	require.EqualValues(t, 60, from, "taken out once")
	require.EqualValues(t, 40, to)
}

// A target suspended between the two steps gets nothing: the tokens the
// source recorded as moved are given back to it.
func TestMoveTokensCompensatesSuspendedTarget(t *testing.T) {
	p := newPools(t)
	fund(t, p, "design", 100)
	p.before["civil"] = func() error { return suspend(t.Context(), p, "civil") }
	h := MoveTokensHandler{Pools: p}

	err := h.Handle(t.Context(), MoveTokens{Org: org, From: "design", To: "civil", EventID: "mv-3", Reason: "peak", Tokens: 25, At: t0})
	require.ErrorIs(t, err, pool.ErrSuspended)

	from, packs := balance(t, p, "design")
	require.EqualValues(t, 100, from, "the source has its tokens back")
	require.ElementsMatch(t, []string{"p1", pool.MovedPackID("mv-3", "p1")}, packs, "given back as a pack with the source's expiry")
	require.NoError(t, p.Read(t.Context(), org, "design", func(pl *pool.Pool) {
		for _, pk := range pl.Packs() {
			require.Equal(t, t0.Add(30*24*time.Hour), pk.ExpiresAt.UTC(), pk.ID)
		}
	}))
	to, toPacks := balance(t, p, "civil")
	require.EqualValues(t, 0, to)
	require.Empty(t, toPacks)
}

func TestMoveTokensToSuspendedTeamIsRefused(t *testing.T) {
	p := newPools(t)
	fund(t, p, "design", 100)
	require.NoError(t, suspend(t.Context(), p, "civil"))
	err := MoveTokensHandler{Pools: p}.Handle(t.Context(), MoveTokens{Org: org, From: "design", To: "civil", EventID: "mv-4", Reason: "peak", Tokens: 5, At: t0})
	require.ErrorIs(t, err, pool.ErrSuspended)
	from, packs := balance(t, p, "design")
	require.EqualValues(t, 100, from)
	require.Equal(t, []string{"p1"}, packs, "nothing was moved out")
}

func TestMergeTeams(t *testing.T) {
	p := newPools(t)
	fund(t, p, "old", 80)
	fund(t, p, "new", 10)
	merge := MergeTeams{Org: org, From: "old", Into: "new", EventID: "merge-1", Reason: "one team", At: t0}
	h := MergeTeamsHandler{Pools: p}

	got, err := h.Handle(t.Context(), merge)
	require.NoError(t, err)
	require.Equal(t, Merged{TokensMoved: 80, UsersMoved: 1}, got)
	again, err := h.Handle(t.Context(), merge)
	require.NoError(t, err)
	require.Equal(t, got, again, "a retry answers the same and moves nothing more")

	into, _ := balance(t, p, "new")
	require.EqualValues(t, 90, into)
	require.NoError(t, p.Read(t.Context(), org, "new", func(pl *pool.Pool) {
		require.Contains(t, pl.Users(), "user-old")
	}))
	require.NoError(t, p.Read(t.Context(), org, "old", func(pl *pool.Pool) {
		require.True(t, pl.Suspended())
		require.Zero(t, pl.BalanceAt(t0).Available)
	}))
}

// A merge interrupted after the source was suspended is completed by the
// same event id sent again.
func TestMergeTeamsRetryCompletes(t *testing.T) {
	p := newPools(t)
	fund(t, p, "old", 50)
	lost := errors.New("connection lost")
	p.before["new"] = func() error { return lost }
	merge := MergeTeams{Org: org, From: "old", Into: "new", EventID: "merge-2", Reason: "one team", At: t0}
	h := MergeTeamsHandler{Pools: p}

	_, err := h.Handle(t.Context(), merge)
	require.ErrorIs(t, err, lost)
	got, err := h.Handle(t.Context(), merge)
	require.NoError(t, err)
	require.Equal(t, Merged{TokensMoved: 50, UsersMoved: 1}, got)
	into, _ := balance(t, p, "new")
	require.EqualValues(t, 50, into)
}

// When the move a merge recorded cannot be read back, the merge fails (to be
// retried) rather than answer success with the tokens left nowhere.
func TestMergeTeamsReadFailureIsNotSuccess(t *testing.T) {
	p := newPools(t)
	fund(t, p, "old", 50)
	lost := errors.New("connection lost")
	// The read after the source's decision fails, not the checks before it.
	p.before["old"] = func() error { p.readFails["old"] = lost; return nil }
	merge := MergeTeams{Org: org, From: "old", Into: "new", EventID: "merge-3", Reason: "one team", At: t0}
	h := MergeTeamsHandler{Pools: p}

	_, err := h.Handle(t.Context(), merge)
	require.ErrorIs(t, err, lost)
	got, err := h.Handle(t.Context(), merge)
	require.NoError(t, err)
	require.EqualValues(t, 50, got.TokensMoved)
	into, _ := balance(t, p, "new")
	require.EqualValues(t, 50, into)
}

// Merging into a suspended team is refused before the source is suspended:
// the source keeps its tokens and stays open.
func TestMergeIntoSuspendedTeamIsRefused(t *testing.T) {
	p := newPools(t)
	fund(t, p, "old", 50)
	require.NoError(t, suspend(t.Context(), p, "closed"))
	_, err := MergeTeamsHandler{Pools: p}.Handle(t.Context(), MergeTeams{Org: org, From: "old", Into: "closed", EventID: "merge-4", Reason: "one team", At: t0})
	require.ErrorIs(t, err, pool.ErrSuspended)
	from, packs := balance(t, p, "old")
	require.EqualValues(t, 50, from, "the source keeps its tokens")
	require.Equal(t, []string{"p1"}, packs)
	require.NoError(t, p.Read(t.Context(), org, "old", func(pl *pool.Pool) { require.False(t, pl.Suspended()) }))
}

// A merge whose target is itself merged away after the source gave up its
// tokens follows the target to where it went: the tokens and users end in
// the open team, not stranded in a closed one.
func TestMergeFollowsATargetMergedMeanwhile(t *testing.T) {
	p := newPools(t)
	fund(t, p, "old", 50)
	fund(t, p, "new", 10)
	h := MergeTeamsHandler{Pools: p}
	p.before["new"] = func() error {
		_, err := h.Handle(t.Context(), MergeTeams{Org: org, From: "new", Into: "newest", EventID: "merge-6", Reason: "again", At: t0})
		return err
	}
	merge := MergeTeams{Org: org, From: "old", Into: "new", EventID: "merge-5", Reason: "one team", At: t0}

	got, err := h.Handle(t.Context(), merge)
	require.NoError(t, err)
	require.Equal(t, Merged{TokensMoved: 50, UsersMoved: 1}, got)
	again, err := h.Handle(t.Context(), merge)
	require.NoError(t, err)
	require.Equal(t, got, again, "a retry moves nothing more")

	newest, _ := balance(t, p, "newest")
	require.EqualValues(t, 60, newest, "both teams' tokens end in the open team")
	require.NoError(t, p.Read(t.Context(), org, "newest", func(pl *pool.Pool) {
		require.Contains(t, pl.Users(), "user-old")
		require.Contains(t, pl.Users(), "user-new")
	}))
	for _, team := range []string{"old", "new"} {
		left, _ := balance(t, p, team)
		require.Zero(t, left, team)
	}
}

// A move whose target closed meanwhile gives the tokens back, and where the
// source was merged away meanwhile too, to the team the source went to.
func TestMoveTokensGivesBackToWhereTheSourceWent(t *testing.T) {
	p := newPools(t)
	fund(t, p, "design", 100)
	p.before["civil"] = func() error {
		if err := suspend(t.Context(), p, "civil"); err != nil {
			return err
		}
		_, err := MergeTeamsHandler{Pools: p}.Handle(t.Context(), MergeTeams{Org: org, From: "design", Into: "hub", EventID: "merge-7", Reason: "one team", At: t0})
		return err
	}
	err := MoveTokensHandler{Pools: p}.Handle(t.Context(), MoveTokens{Org: org, From: "design", To: "civil", EventID: "mv-5", Reason: "peak", Tokens: 25, At: t0})
	require.ErrorIs(t, err, pool.ErrSuspended)
	hub, _ := balance(t, p, "hub")
	require.EqualValues(t, 100, hub, "the merge's 75 and the 25 given back")
	for _, team := range []string{"design", "civil"} {
		left, _ := balance(t, p, team)
		require.Zero(t, left, team)
	}
}
