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
	require.Equal(t, CapacityCard{Product: "API", Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Total: 100, Available: 30, InUse: 70,
		RefreshesAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}, card)
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

// checkCapacities asserts the capacity rules on every card at now: the
// replica agrees, 0 <= available <= total, expired exactly from the term's
// end on (nothing available, red), red exactly at or below 20 %, and a
// refresh only for exhaustible capacity, at the next UTC month start, before
// the term ends.
func checkCapacities(t *testing.T, p, replica *Pool, now time.Time) {
	t.Helper()
	cards := p.Capacities(now)
	require.Equal(t, cards, replica.Capacities(now), "the replica's cards")
	for _, c := range cards {
		require.True(t, c.Available >= 0 && c.Available <= c.Total, "%+v", c)
		require.Equal(t, !c.EndsAt.IsZero() && !now.Before(c.EndsAt), c.Expired, "%+v at %s", c, now)
		require.Equal(t, c.Available*100 <= c.Total*CapacityRedPercent, c.Red, "%+v", c)
		if c.Expired {
			require.Zero(t, c.Available, "%+v", c)
		}
		if c.RefreshesAt.IsZero() {
			continue
		}
		n := now.UTC()
		require.Equal(t, time.Date(n.Year(), n.Month()+1, 1, 0, 0, 0, 0, time.UTC), c.RefreshesAt, "%+v", c)
		require.Equal(t, v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, c.Kind)
		require.True(t, c.EndsAt.IsZero() || c.RefreshesAt.Before(c.EndsAt), "%+v", c)
	}
}

// TestCapacityTermRefreshAndExpiry walks an exhaustible product hour by hour
// from the month before its term ends until after, and checks each card
// against the rules spelled out independently here.
func TestCapacityTermRefreshAndExpiry(t *testing.T) {
	start := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	ends := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	h := newHarness(t)
	h.must(h.p.DecideSetCapacityTerm("c1", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 100, ends, start, nil))
	h.must(h.p.DecideUseCapacity("u1", "API", "ann", 85, start, nil))
	for at := start; at.Before(ends.AddDate(0, 1, 0)); at = at.Add(time.Hour) {
		card, ok := h.p.Capacity("API", at)
		require.True(t, ok)
		want := CapacityCard{Product: "API", Kind: v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, Total: 100, Available: 100, EndsAt: ends}
		switch {
		case !at.Before(ends): // expired, with the end instant
			want.Available, want.Expired, want.Red = 0, true, true
		case at.Month() == time.January:
			want.Available, want.InUse, want.Red = 15, 85, true
			want.RefreshesAt = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		case at.Month() == time.February:
			want.RefreshesAt = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		}
		require.Equal(t, want, card, "at %s", at)
	}
	set, err := h.p.DecideSetCapacityTerm("c0", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 100, ends, start, nil)
	require.NoError(t, err)
	tx, _ := Transaction(set)
	require.Equal(t, "100 exhaustible units, term ends 2026-03-10T12:00:00Z", tx.GetDetail(), "the history names the term")
	_, err = h.p.DecideUseCapacity("u2", "API", "ann", 1, ends.Add(-time.Second), nil)
	require.NoError(t, err, "usable up to the last instant")
	_, err = h.p.DecideUseCapacity("u2", "API", "ann", 1, ends, nil)
	require.ErrorIs(t, err, ErrInsufficient, "expired capacity cannot be used")
	require.ErrorContains(t, err, "expired")

	// Renewing is a SetCapacity with a new end; without one the term is open.
	h.must(h.p.DecideSetCapacityTerm("c2", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 100, ends.AddDate(1, 0, 0), ends, nil))
	card, _ := h.p.Capacity("API", ends)
	require.False(t, card.Expired)
	require.EqualValues(t, 100, card.Available)
	require.Equal(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), card.RefreshesAt)
	h.must(h.p.DecideSetCapacity("c3", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 100, ends, nil))
	card, _ = h.p.Capacity("API", ends.AddDate(5, 0, 0))
	require.True(t, card.EndsAt.IsZero())
	require.False(t, card.Expired)
}

func TestReturnableCapacityExpires(t *testing.T) {
	h := newHarness(t)
	ends := t0.Add(48 * time.Hour)
	h.must(h.p.DecideSetCapacityTerm("c1", "SEATS", v1.CapacityKind_CAPACITY_KIND_RETURNABLE, 3, ends, t0, nil))
	h.must(h.p.DecideUseCapacity("out-1", "SEATS", "ann", 1, t0, nil))
	card, _ := h.p.Capacity("SEATS", t0)
	require.True(t, card.RefreshesAt.IsZero(), "returnable capacity never refreshes")
	require.EqualValues(t, 2, card.Available)
	card, _ = h.p.Capacity("SEATS", ends)
	require.Equal(t, CapacityCard{Product: "SEATS", Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Total: 3, InUse: 1,
		Red: true, EndsAt: ends, Expired: true}, card)
	h.must(h.p.DecideReturnCapacity("ret-1", "SEATS", "out-1", ends, nil))
	card, _ = h.p.Capacity("SEATS", ends)
	require.Zero(t, card.Available, "a return after the end frees nothing to use")

	state, err := h.p.MarshalSnapshot()
	require.NoError(t, err)
	back, err := UnmarshalSnapshot(state)
	require.NoError(t, err)
	require.Equal(t, h.p.Capacities(ends), back.Capacities(ends), "the term survives a snapshot")
}

func TestCapacityTermBounds(t *testing.T) {
	h := newHarness(t)
	for _, ends := range []time.Time{t0, t0.Add(-time.Hour), t0.Add(MaxCapacityTerm + time.Second)} {
		_, err := h.p.DecideSetCapacityTerm("c1", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 10, ends, t0, nil)
		var fe *FieldError
		require.ErrorAs(t, err, &fe, "ends %s", ends)
		require.Equal(t, "ends_at", fe.Field)
	}
	_, err := h.p.DecideSetCapacityTerm("c1", "API", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, 10, t0.Add(MaxCapacityTerm), t0, nil)
	require.NoError(t, err)

	require.NoError(t, CheckCapacityUseTime(t0, t0))
	require.NoError(t, CheckCapacityUseTime(t0.Add(-MaxCapacityUseAge), t0))
	for _, at := range []time.Time{t0.Add(time.Second), t0.Add(-MaxCapacityUseAge - time.Second)} {
		var fe *FieldError
		require.ErrorAs(t, CheckCapacityUseTime(at, t0), &fe, "at %s", at)
		require.Equal(t, "received_at", fe.Field)
	}
}
