package pool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (h *harness) must(ev *v1.Event, err error) {
	h.t.Helper()
	require.NoError(h.t, err)
	h.apply(ev)
}

func TestExhaustibleCapacityRefreshesMonthly(t *testing.T) {
	h := newHarness(t)
	h.must(h.p.DecideSetCapacity("c1", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 100, t0, nil))
	h.must(h.p.DecideUseCapacity("u1", "API", "ann", 70, t0, nil))
	card, _ := h.p.Capacity("API", t0)
	require.Equal(t, CapacityCard{Product: "API", Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Total: 100, Available: 30, InUse: 70}, card)
	h.must(h.p.DecideUseCapacity("u2", "API", "ann", 10, t0, nil))
	card, _ = h.p.Capacity("API", t0)
	require.True(t, card.Red, "20 of 100 left: red at or below 20 %")
	_, err := h.p.DecideUseCapacity("u3", "API", "ann", 21, t0, nil)
	require.ErrorIs(t, err, ErrInsufficient, "never more than is left")
	ev, err := h.p.DecideUseCapacity("u1", "API", "ann", 70, t0, nil)
	require.NoError(t, err)
	require.Nil(t, ev, "a retried id uses nothing more")

	next := t0.AddDate(0, 1, 0)
	card, _ = h.p.Capacity("API", next)
	require.EqualValues(t, 100, card.Available, "a new month refreshes the allowance, no rollover")
}

func TestReturnableCapacity(t *testing.T) {
	h := newHarness(t)
	h.must(h.p.DecideSetCapacity("c1", "SEATS", v1.CapacityKind_CAPACITY_KIND_RETURNABLE, 2, t0, nil))
	h.must(h.p.DecideUseCapacity("out-1", "SEATS", "ann", 1, t0, nil))
	h.must(h.p.DecideUseCapacity("out-2", "SEATS", "bob", 1, t0, nil))
	_, err := h.p.DecideUseCapacity("out-3", "SEATS", "cat", 1, t0, nil)
	require.ErrorIs(t, err, ErrInsufficient, "both seats are out")
	card, _ := h.p.Capacity("SEATS", t0.AddDate(0, 2, 0))
	require.EqualValues(t, 0, card.Available, "returnable units do not come back with the month")
	h.must(h.p.DecideReturnCapacity("ret-1", "SEATS", "out-1", t0.Add(time.Hour), nil))
	_, err = h.p.DecideReturnCapacity("ret-2", "SEATS", "out-1", t0.Add(time.Hour), nil)
	require.ErrorIs(t, err, ErrNotFound, "returned already")
	h.must(h.p.DecideUseCapacity("out-3", "SEATS", "cat", 1, t0.Add(2*time.Hour), nil))

	state, err := h.p.MarshalSnapshot()
	require.NoError(t, err)
	back, err := UnmarshalSnapshot(state)
	require.NoError(t, err)
	require.Equal(t, h.p.Capacities(t0), back.Capacities(t0), "capacities survive a snapshot")
}
