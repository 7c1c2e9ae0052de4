package pool

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func catalog(t *testing.T, rates map[string]int64) *Catalog {
	t.Helper()
	c := NewCatalog()
	for code, rate := range rates {
		c.Apply(rateEvent(code, rate, t0.Add(-time.Hour)))
	}
	return c
}

func rateEvent(code string, rate int64, from time.Time) *v1.Event {
	return &v1.Event{Payload: &v1.Event_ProductRateSet{ProductRateSet: &v1.ProductRateSet{
		ProductCode: code, Name: code, DailyRate: rate, EffectiveFrom: tsOf(from)}}}
}

// harness is a pool plus the discipline the store follows: decide, then fold.
type harness struct {
	t   *testing.T
	p   *Pool
	cat *Catalog
	n   int
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, p: New("acme", "design"), cat: catalog(t, map[string]int64{"REVIT": 10, "ACAD": 7, "FUSION": 2})}
	h.assign("ann", "*")
	return h
}

func (h *harness) apply(ev *v1.Event) {
	h.t.Helper()
	require.NoError(h.t, h.p.Apply(ev))
	b := h.p.BalanceAt(ev.GetServerTime().AsTime())
	require.GreaterOrEqual(h.t, h.p.Available(), int64(0), "invariant 1: never below zero")
	require.Equal(h.t, h.p.purchased-h.p.debited-h.p.expired-h.p.removed, h.p.Available())
	require.GreaterOrEqual(h.t, b.Available, int64(0))
}

func (h *harness) id() string { h.n++; return fmt.Sprintf("ev-%d", h.n) }

func (h *harness) assign(user string, products ...string) {
	ev, err := h.p.DecideAssign(h.id(), user, products, t0.Add(-time.Hour), nil)
	require.NoError(h.t, err)
	h.apply(ev)
}

func (h *harness) pack(id string, tokens int64, purchased, expires time.Time) {
	h.t.Helper()
	ev, err := h.p.DecideAddPack(AddPack{EventID: h.id(), PackID: id, Tokens: tokens, PurchasedAt: purchased, ExpiresAt: expires, At: t0.Add(-time.Hour)})
	require.NoError(h.t, err)
	h.apply(ev)
}

func (h *harness) launch(user, product string, at time.Time) Outcome {
	h.t.Helper()
	o, ev := h.p.DecideLaunch(Launch{EventID: h.id(), User: user, Product: product, Device: "d1", At: at}, h.cat)
	require.NotNil(h.t, ev)
	h.apply(ev)
	return o
}

func TestLaunchWindows(t *testing.T) {
	h := newHarness(t)
	h.pack("p1", 100, t0.AddDate(0, -1, 0), t0.AddDate(0, 11, 0))

	first := h.launch("ann", "REVIT", t0)
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, first.Decision)
	require.EqualValues(t, 10, first.Tokens)
	require.EqualValues(t, 90, first.BalanceAfter)
	require.Equal(t, t0.Add(24*time.Hour), first.WindowEnd)

	again := h.launch("ann", "REVIT", t0.Add(23*time.Hour+59*time.Minute))
	require.EqualValues(t, 0, again.Tokens, "a second launch inside the window is free")
	require.Equal(t, first.WindowID, again.WindowID)
	require.EqualValues(t, 90, again.BalanceAfter)

	other := h.launch("ann", "ACAD", t0.Add(time.Hour))
	require.EqualValues(t, 7, other.Tokens, "a different product is a separate charge")

	next := h.launch("ann", "REVIT", t0.Add(24*time.Hour))
	require.EqualValues(t, 10, next.Tokens, "the window ends at the 24-hour mark")
	require.NotEqual(t, first.WindowID, next.WindowID)
	require.EqualValues(t, 73, h.p.BalanceAt(t0.Add(24*time.Hour)).Available)
}

func TestDenials(t *testing.T) {
	tests := []struct {
		name    string
		user    string
		product string
		tokens  int64
		want    v1.DenyReason
	}{
		{"pool cannot pay in full", "ann", "REVIT", 9, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS},
		{"unassigned user", "bob", "REVIT", 100, v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED},
		{"product not allowed", "cat", "REVIT", 100, v1.DenyReason_DENY_REASON_PRODUCT_NOT_ALLOWED},
		{"unknown product", "ann", "MAYA", 100, v1.DenyReason_DENY_REASON_UNKNOWN_PRODUCT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.assign("cat", "FUSION")
			h.pack("p1", tc.tokens, t0, t0.AddDate(1, 0, 0))
			o := h.launch(tc.user, tc.product, t0)
			require.Equal(t, v1.Decision_DECISION_DENIED, o.Decision)
			require.Equal(t, tc.want, o.DenyReason)
			require.EqualValues(t, tc.tokens, h.p.BalanceAt(t0).Available, "a denial takes nothing")
		})
	}
}

func TestBurnDownOrder(t *testing.T) {
	h := newHarness(t)
	exp := t0.AddDate(0, 6, 0)
	h.pack("late", 100, t0.AddDate(0, -2, 0), t0.AddDate(1, 0, 0))
	h.pack("big", 50, t0.AddDate(0, -3, 0), exp)
	h.pack("small-new", 4, t0.AddDate(0, -1, 0), exp)
	h.pack("small-old", 4, t0.AddDate(0, -2, 0), exp)

	_, ev := h.p.DecideLaunch(Launch{EventID: "x", User: "ann", Product: "REVIT", At: t0}, h.cat)
	split := ev.GetWindowCharged().GetSplit()
	require.Equal(t, []string{"small-old", "small-new", "big"}, []string{split[0].PackId, split[1].PackId, split[2].PackId},
		"earliest expiry first; on equal expiry the smaller pack, then the older purchase")
	require.Equal(t, []int64{4, 4, 2}, []int64{split[0].Tokens, split[1].Tokens, split[2].Tokens})
	h.apply(ev)
	require.EqualValues(t, 48, h.p.packIdx["big"].Remaining)
}

func TestExpiry(t *testing.T) {
	h := newHarness(t)
	h.pack("soon", 15, t0.AddDate(-1, 0, 0), t0.Add(2*time.Hour))
	h.pack("later", 5, t0, t0.AddDate(1, 0, 0))

	require.Empty(t, h.p.DueExpiries(t0.Add(time.Hour)))
	o := h.launch("ann", "REVIT", t0.Add(time.Hour))
	require.EqualValues(t, 10, o.Tokens)

	at := t0.Add(3 * time.Hour)
	require.EqualValues(t, 5, h.p.BalanceAt(at).Available, "an expired pack is not available even before its event")
	due := h.p.DueExpiries(at)
	require.Len(t, due, 1)
	require.EqualValues(t, 5, due[0].GetPackExpired().GetTokensLost())
	require.Equal(t, t0.Add(2*time.Hour), due[0].GetServerTime().AsTime(), "recorded at the expiry instant")
	h.apply(due[0])
	require.Empty(t, h.p.DueExpiries(at))
	require.EqualValues(t, 5, h.p.expired)

	denied := h.launch("ann", "ACAD", at)
	require.Equal(t, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, denied.DenyReason, "7 > 5 left; no overdraft")
}

func TestRateChangeAppliesToNewWindows(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 100, t0, t0.AddDate(1, 0, 0))
	h.cat.Apply(rateEvent("REVIT", 12, t0.Add(time.Hour)))
	require.EqualValues(t, 10, h.launch("ann", "REVIT", t0).Tokens)
	require.EqualValues(t, 0, h.launch("ann", "REVIT", t0.Add(2*time.Hour)).Tokens, "the open window keeps its charge")
	require.EqualValues(t, 12, h.launch("ann", "REVIT", t0.Add(25*time.Hour)).Tokens)
}

func TestSameEventIDGetsSameAnswer(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 10, t0, t0.AddDate(1, 0, 0))
	l := Launch{EventID: "same", User: "ann", Product: "REVIT", At: t0}
	o1, ev := h.p.DecideLaunch(l, h.cat)
	h.apply(ev)
	for i := 0; i < 3; i++ {
		l.At = l.At.Add(time.Hour)
		o2, ev2 := h.p.DecideLaunch(l, h.cat)
		require.Nil(t, ev2, "nothing to append for a known event id")
		require.Equal(t, o1.Tokens, o2.Tokens)
		require.Equal(t, o1.WindowID, o2.WindowID)
		require.Equal(t, o1.BalanceAfter, o2.BalanceAfter)
	}
	require.EqualValues(t, 0, h.p.BalanceAt(t0).Available)
}

func TestAdjust(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 10, t0, t0.AddDate(1, 0, 0))
	_, err := h.p.DecideAdjust(Adjust{EventID: "a", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 11, Reason: "x", At: t0})
	require.ErrorIs(t, err, ErrInsufficient)
	_, err = h.p.DecideAdjust(Adjust{EventID: "a", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 3, At: t0})
	require.ErrorIs(t, err, ErrInvalid, "a reason is required")
	ev, err := h.p.DecideAdjust(Adjust{EventID: "a", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND, Tokens: 3, Reason: "refund", At: t0})
	require.NoError(t, err)
	h.apply(ev)
	require.EqualValues(t, 7, h.p.Available())
	require.EqualValues(t, 3, h.p.removed)
}

func TestAddPackDefaults(t *testing.T) {
	p := New("acme", "design")
	ev, err := p.DecideAddPack(AddPack{EventID: "e", PackID: "p", Tokens: 10, At: t0})
	require.NoError(t, err)
	require.Equal(t, t0.AddDate(1, 0, 0), ev.GetPackAdded().GetExpiresAt().AsTime(), "12 months by default")
	contractEnd := t0.AddDate(0, 5, 0)
	ev, err = p.DecideAddPack(AddPack{EventID: "e", PackID: "p", Tokens: 10, At: t0, ContractEnd: contractEnd})
	require.NoError(t, err)
	require.Equal(t, contractEnd, ev.GetPackAdded().GetExpiresAt().AsTime(), "or the contract end if earlier")
	_, err = p.DecideAddPack(AddPack{EventID: "e", PackID: "p", Tokens: 0, At: t0})
	require.ErrorIs(t, err, ErrInvalid)
}
