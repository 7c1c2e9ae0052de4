package pool

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// checkInvariant1 asserts DESIGN.md's invariant 1 on p: available =
// purchased - debited - expired - removed >= 0, each total >= 0, and the
// packs hold exactly what is available.
func checkInvariant1(t testing.TB, p *Pool) {
	t.Helper()
	held := int64(0)
	for _, pk := range p.packs {
		if pk.Remaining < 0 || pk.Remaining > pk.Tokens {
			t.Fatalf("pack %s holds %d of %d tokens", pk.ID, pk.Remaining, pk.Tokens)
		}
		held += pk.Remaining
	}
	if p.purchased < 0 || p.debited < 0 || p.expired < 0 || p.removed < 0 {
		t.Fatalf("a negative total: purchased %d debited %d expired %d removed %d", p.purchased, p.debited, p.expired, p.removed)
	}
	if a := p.Available(); a < 0 || a != held {
		t.Fatalf("available %d (purchased %d debited %d expired %d removed %d), the packs hold %d",
			a, p.purchased, p.debited, p.expired, p.removed, held)
	}
}

func packAdded(id, pack string, tokens int64, at time.Time) *v1.Event {
	return &v1.Event{EventId: id, ServerTime: tsOf(at), Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{
		PackId: pack, Tokens: tokens, PurchasedAt: tsOf(at), ExpiresAt: tsOf(at.AddDate(1, 0, 0))}}}
}

// Issue 13 defect 1: a pack of 9223372036854775797 tokens on a pool holding
// 50 made the balance -9223372036854775769. Appended by hand, the fold
// refuses it: the pool keeps its 50 tokens and charges as before.
func TestFoldRefusesOverflowingPack(t *testing.T) {
	h := newHarness(t)
	h.pack("p1", 50, t0.Add(-time.Hour), t0.AddDate(1, 0, 0))
	err := h.p.Apply(packAdded("huge-0001", "huge", 9223372036854775797, t0))
	require.Error(t, err, "the fold must refuse the pack")
	checkInvariant1(t, h.p)
	require.EqualValues(t, 50, h.p.Available())
	require.EqualValues(t, 50, h.p.BalanceAt(t0).Available)
	o := h.launch("ann", "REVIT", t0.Add(time.Minute))
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, o.Decision)
	require.EqualValues(t, 40, o.BalanceAfter)
	_, seen := h.p.Applied("huge-0001")
	require.True(t, seen, "the refused event's id is remembered, never reused")
}

// Packs within bounds that would take the purchases past int64 are refused
// too (checked sum): a long-lived pool near the edge cannot wrap.
func TestFoldChecksPurchaseSum(t *testing.T) {
	h := newHarness(t)
	h.pack("p1", 50, t0.Add(-time.Hour), t0.AddDate(1, 0, 0))
	h.p.purchased += math.MaxInt64 - 60 // as if ~9 million full packs were bought and spent
	h.p.debited += math.MaxInt64 - 60
	err := h.p.Apply(packAdded("more-0001", "more", MaxPackTokens, t0))
	require.ErrorIs(t, err, ErrRefused)
	checkInvariant1(t, h.p)
}

// A charge or removal whose tokens differ from its split, or whose split
// takes more than a pack holds, changes nothing at all.
func TestFoldRefusesDebitsNotAddingUp(t *testing.T) {
	h := newHarness(t)
	h.pack("p1", 50, t0.Add(-time.Hour), t0.AddDate(1, 0, 0))
	h.pack("p2", 50, t0.Add(-time.Hour), t0.AddDate(2, 0, 0))
	for i, ev := range []*v1.Event{
		{EventId: "bad-charge", ServerTime: tsOf(t0), Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: "ann", ProductCode: "REVIT", Tokens: math.MaxInt64, Split: []*v1.PackSplit{{PackId: "p1", Tokens: 1}}}}},
		{EventId: "bad-remove", ServerTime: tsOf(t0), Payload: &v1.Event_TokensAdjusted{TokensAdjusted: &v1.TokensAdjusted{
			Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 60,
			Split: []*v1.PackSplit{{PackId: "p1", Tokens: 40}, {PackId: "p2", Tokens: 60}}}}},
		{EventId: "bad-merge", ServerTime: tsOf(t0), Payload: &v1.Event_PoolSuspended{PoolSuspended: &v1.PoolSuspended{
			TokensMoved: math.MinInt64}}},
	} {
		require.ErrorIs(t, h.p.Apply(ev), ErrRefused, "event %d", i)
		checkInvariant1(t, h.p)
		require.EqualValues(t, 100, h.p.Available(), "event %d changed the pool", i)
	}
	require.False(t, h.p.Suspended())
}

// A rate out of bounds in the catalog's log is refused: the product keeps
// its rate.
func TestCatalogRefusesRateOutOfBounds(t *testing.T) {
	c := catalog(t, map[string]int64{"REVIT": 10})
	ev := rateEvent("REVIT", math.MaxInt64, t0)
	ev.EventId = "rate-0001"
	require.ErrorIs(t, c.Apply(ev), ErrRefused)
	p, ok := c.At("REVIT", t0.Add(time.Hour))
	require.True(t, ok)
	require.EqualValues(t, 10, p.DailyRate)
	_, seen := c.Applied("rate-0001")
	require.True(t, seen)
}

// Every decision refuses numbers beyond the limits, naming the field.
func TestDecisionsNameTheField(t *testing.T) {
	h := newHarness(t)
	h.pack("p1", 50, t0.Add(-time.Hour), t0.AddDate(1, 0, 0))
	at := t0
	field := func(err error) string {
		t.Helper()
		require.ErrorIs(t, err, ErrInvalid)
		var fe *FieldError
		require.True(t, errors.As(err, &fe), "%v names no field", err)
		return fe.Field
	}
	_, err := h.p.DecideAddPack(AddPack{EventID: "e", PackID: "x", Tokens: math.MaxInt64 - 10, At: at})
	require.Equal(t, "tokens", field(err))
	_, err = h.p.DecideAddPack(AddPack{EventID: "e", PackID: "x", Tokens: 10, ExpiresAt: at.Add(-time.Hour), At: at})
	require.Equal(t, "expires_at", field(err))
	_, err = h.p.DecideAddPack(AddPack{EventID: "e", PackID: "x", Tokens: MaxPackTokens, UnitPriceMicros: MaxUnitPriceMicros, At: at})
	require.Equal(t, "unit_price_micros", field(err), "a pack worth more than 10^18 micros")
	_, err = h.p.DecideAdjust(Adjust{EventID: "e", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: math.MaxInt64, Reason: "r", At: at})
	require.Equal(t, "tokens", field(err))
	_, err = h.p.DecideAssign("e", "bob", nil, at, nil)
	require.Equal(t, "product_codes", field(err))
	_, err = h.p.DecideSetBudget("e", &v1.Budget{BudgetId: "b", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann",
		LimitTokens: math.MaxInt64, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}, at, nil)
	require.Equal(t, "budget.limit_tokens", field(err))
	_, err = h.p.DecideSetCapacity("e", "SEATS", v1.CapacityKind_CAPACITY_KIND_RETURNABLE, math.MaxInt64, at, nil)
	require.Equal(t, "units", field(err))
	_, err = h.p.DecideMoveOut("e", "civil", math.MaxInt64, "r", at, nil)
	require.Equal(t, "tokens", field(err))
	// A pool holds at most MaxPoolTokens live tokens.
	h.pack("fill-0", MaxPackTokens-50, t0.Add(-time.Hour), t0.AddDate(1, 0, 0))
	for i := 1; i < 1000; i++ {
		h.pack(fmt.Sprintf("fill-%d", i), MaxPackTokens, t0.Add(-time.Hour), t0.AddDate(1, 0, 0))
	}
	_, err = h.p.DecideAddPack(AddPack{EventID: "e", PackID: "x", Tokens: 1, At: at})
	require.Equal(t, "tokens", field(err))
	checkInvariant1(t, h.p)
	require.EqualValues(t, MaxPoolTokens, h.p.Available())
}
