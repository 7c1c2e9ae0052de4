package pool

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/snapshot_v1.json from this version's encoder")

// goldenPool folds one of each remembered answer: packs added and expired,
// charges (a renewal among them), coverage, denials, a capacity checkout,
// assignments, a budget, a move out; times with nanoseconds.
func goldenPool(t *testing.T) *Pool {
	h := newHarness(t)
	h.assign("bob", "ACAD")
	h.pack("p1", 30, t0.AddDate(0, -1, 0), t0.Add(36*time.Hour))
	h.pack("p2", 100, t0, t0.AddDate(1, 0, 0))
	h.launch("ann", "REVIT", t0.Add(123456789))
	h.launch("ann", "REVIT", t0.Add(time.Hour+987654321)) // covered
	h.launch("bob", "REVIT", t0.Add(2*time.Hour))         // product not allowed
	h.launch("cat", "ACAD", t0.Add(2*time.Hour))          // not assigned
	h.launch("bob", "ACAD", t0.Add(3*time.Hour))
	h.heartbeat("ann", "REVIT", true, t0.Add(24*time.Hour+5*time.Minute)) // renewal
	for _, ev := range h.p.DueExpiries(t0.Add(48 * time.Hour)) {
		h.apply(ev)
	}
	set, err := h.p.DecideSetCapacity(h.id(), "API", v1.CapacityKind_CAPACITY_KIND_RETURNABLE, 5, t0.Add(49*time.Hour), nil)
	require.NoError(t, err)
	h.apply(set)
	use, err := h.p.DecideUseCapacity(h.id(), "API", "ann", 2, t0.Add(50*time.Hour), nil)
	require.NoError(t, err)
	h.apply(use)
	bud, err := h.p.DecideSetBudget(h.id(), &v1.Budget{BudgetId: "b1", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann",
		LimitTokens: 1000, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH}, t0.Add(51*time.Hour), nil)
	require.NoError(t, err)
	h.apply(bud)
	mv, err := h.p.DecideMoveOut(h.id(), "other", 5, "rebalance", t0.Add(52*time.Hour), nil)
	require.NoError(t, err)
	h.apply(mv)
	un, err := h.p.DecideUnassign(h.id(), "bob", t0.Add(53*time.Hour), nil)
	require.NoError(t, err)
	h.apply(un)
	return h.p
}

// A snapshot written by an earlier version (testdata/snapshot_v1.json, the
// encoding the KV bucket holds) loads, and this version writes the same
// pool to the same bytes.
func TestSnapshotGolden(t *testing.T) {
	path := filepath.Join("testdata", "snapshot_v1.json")
	got, err := goldenPool(t).MarshalSnapshot()
	require.NoError(t, err)
	if *updateGolden {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "this version encodes the pool differently:\n%s", firstDiff(got, want))

	back, err := UnmarshalSnapshot(want)
	require.NoError(t, err)
	again, err := back.MarshalSnapshot()
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, again), "a loaded snapshot encodes differently:\n%s", firstDiff(again, want))
	live := goldenPool(t)
	for id := range live.applied {
		o, _ := live.Applied(id)
		b, ok := back.Applied(id)
		require.True(t, ok, id)
		require.Equal(t, o, b, "the answer to %s survives the snapshot", id)
	}
}
