package pool

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

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

// referenceSnapshot is the snapshot as encoding/json writes the snapshot
// struct in one call: the format Capture.Encode writes in parts.
func referenceSnapshot(t *testing.T, p *Pool) []byte {
	s := snapshot{
		snapshotHead: snapshotHead{Version: snapshotVersion, Org: p.Org, Team: p.Team, Packs: p.packs, Users: map[string][]string{}},
		Applied:      map[string]Outcome{},
		snapshotTail: snapshotTail{
			Suspended: p.suspended, MergedInto: p.mergedInto, Moves: p.moves,
			Purchased: p.purchased, Debited: p.debited, Expired: p.expired, Removed: p.removed, LastTime: p.lastTime,
			Capacities: p.capacities,
		},
	}
	for id, a := range p.applied {
		s.Applied[id] = a.outcome()
	}
	for _, pk := range p.packs {
		s.PackOrder = append(s.PackOrder, pk.order)
	}
	for k, w := range p.windows {
		s.Windows = append(s.Windows, windowRecord{User: k.user, Product: k.product, ID: w.ID, Start: w.Start, End: w.End})
	}
	slices.SortFunc(s.Windows, func(a, b windowRecord) int {
		return cmp.Or(strings.Compare(a.User, b.User), strings.Compare(a.Product, b.Product))
	})
	for u, products := range p.users {
		s.Users[u] = slices.Sorted(maps.Keys(products))
		if s.Users[u] == nil {
			s.Users[u] = []string{}
		}
	}
	for _, id := range p.budgetIDs() {
		st := p.budgets[id]
		raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(st.b)
		require.NoError(t, err)
		s.Budgets = append(s.Budgets, budgetRecord{Budget: raw, Spent: st.spent, Crossed: st.crossed})
	}
	out, err := json.Marshal(s)
	require.NoError(t, err)
	return out
}

// A capture encodes to what encoding/json writes for the whole state, and
// to the state as it was when captured, whatever the pool did after: the
// store encodes it off the pool's lock while the pool goes on deciding.
func TestCaptureEncodesTheStateWhenTaken(t *testing.T) {
	empty, err := New("acme", "empty").MarshalSnapshot()
	require.NoError(t, err)
	require.Equal(t, string(referenceSnapshot(t, New("acme", "empty"))), string(empty))

	h := newHarness(t)
	h.assign("ann", "*")
	h.assign("bob", "REVIT")
	h.pack("p1", 500, t0, t0.AddDate(1, 0, 0))
	h.launch("ann", "REVIT", t0.Add(time.Minute))
	h.launch("bob", "REVIT", t0.Add(2*time.Minute))
	h.budget(&v1.Budget{BudgetId: "b0", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 1000, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH})
	h.must(h.p.DecideSetCapacity("c1", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 100, t0, nil))
	h.must(h.p.DecideUseCapacity("u1", "API", "ann", 10, t0, nil))
	want := referenceSnapshot(t, h.p)
	c, err := h.p.CaptureSnapshot()
	require.NoError(t, err)

	// The pool moves on: charges (packs' remaining, a budget's spending),
	// new windows, answers, users and their products, capacity used, a budget.
	h.launch("ann", "ACAD", t0.Add(3*time.Minute))
	h.must(h.p.DecideUseCapacity("u2", "API", "ann", 10, t0.Add(3*time.Minute), nil))
	h.assign("cat", "*")
	h.assign("bob", "ACAD")
	h.launch("cat", "REVIT", t0.Add(4*time.Minute))
	h.heartbeat("ann", "REVIT", true, t0.Add(24*time.Hour+time.Minute)) // renewal
	bud, err := h.p.DecideSetBudget(h.id(), &v1.Budget{BudgetId: "b1", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann",
		LimitTokens: 1000, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH}, t0.Add(25*time.Hour), nil)
	require.NoError(t, err)
	h.apply(bud)

	got, err := c.Encode()
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "the capture changed with the pool")
	now, err := h.p.MarshalSnapshot()
	require.NoError(t, err)
	require.NotEqual(t, string(want), string(now), "the pool did change")
	require.Equal(t, string(referenceSnapshot(t, h.p)), string(now))
}
