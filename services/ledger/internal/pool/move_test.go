package pool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func TestMoveKeepsExpiry(t *testing.T) {
	src := newHarness(t)
	soon, late := t0.AddDate(0, 2, 0), t0.AddDate(0, 9, 0)
	src.pack("soon", 30, t0, soon)
	src.pack("late", 100, t0, late)
	ev, err := src.p.DecideMoveOut("mv-1", "civil", 50, "rebalance", t0, nil)
	require.NoError(t, err)
	src.apply(ev)
	require.EqualValues(t, 80, src.p.Available())
	m, ok := src.p.MoveOut("mv-1")
	require.True(t, ok)

	dst := &harness{t: t, p: New("acme", "civil"), cat: src.cat}
	in, err := dst.p.DecideMoveIn(m, "design", t0, nil)
	require.NoError(t, err)
	require.Len(t, in, 2, "one pack per source pack")
	for _, e := range in {
		dst.apply(e)
	}
	require.EqualValues(t, 50, dst.p.Available())
	b := dst.p.BalanceAt(t0)
	require.Equal(t, soon, b.NextExpiry, "moved tokens keep their pack's expiry")
	again, err := dst.p.DecideMoveIn(m, "design", t0, nil)
	require.NoError(t, err)
	require.Empty(t, again, "redoing a completed move adds nothing")

	_, err = src.p.DecideMoveOut("mv-2", "civil", 81, "too much", t0, nil)
	require.ErrorIs(t, err, ErrInsufficient)
}

func TestMergeSuspends(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 40, t0, t0.AddDate(1, 0, 0))
	h.launch("ann", "REVIT", t0)
	ev, err := h.p.DecideMerge("merge-1", "civil", "reorganisation", t0.Add(time.Hour), nil)
	require.NoError(t, err)
	require.EqualValues(t, 30, ev.GetPoolSuspended().GetTokensMoved())
	h.apply(ev)
	require.EqualValues(t, 0, h.p.Available())
	o := h.launch("ann", "REVIT", t0.Add(2*time.Hour))
	require.Equal(t, v1.DenyReason_DENY_REASON_POOL_SUSPENDED, o.DenyReason, "even inside an open window")
	_, err = h.p.DecideAddPack(AddPack{EventID: "x", PackID: "p2", Tokens: 5, At: t0})
	require.ErrorIs(t, err, ErrSuspended)
	m, ok := h.p.MoveOut("merge-1")
	require.True(t, ok)
	require.EqualValues(t, 30, m.Parts[0].Tokens)
}

func TestSnapshotRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.assign("bob", "*")
	h.pack("p", 100, t0, t0.AddDate(1, 0, 0))
	h.budget(&v1.Budget{BudgetId: "b", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 5, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY})
	h.launch("ann", "REVIT", t0)
	h.launch("bob", "ACAD", t0)
	ev, err := h.p.DecideMoveOut("mv", "civil", 3, "x", t0, nil)
	require.NoError(t, err)
	h.apply(ev)
	want, err := h.p.MarshalSnapshot()
	require.NoError(t, err)
	back, err := UnmarshalSnapshot(want)
	require.NoError(t, err)
	got, err := back.MarshalSnapshot()
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
	require.Equal(t, want, got, "byte-identical")
	o, _ := back.DecideLaunch(Launch{EventID: h.id(), User: "ann", Product: "REVIT", At: t0.Add(time.Hour)}, h.cat)
	require.Zero(t, o.Tokens, "the restored pool still knows ann's window")
}
