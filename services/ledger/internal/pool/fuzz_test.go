package pool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// fuzzOps are the commands FuzzPoolCommands drives, one byte each,
// followed by an int64 argument (little-endian; missing bytes are 0).
const (
	opAddPack = iota
	opAdjust
	opLaunch
	opMoveOut
	opAdvance
	opBudget
	opCapacity
	opRawPack   // a PackAdded appended by hand, any tokens
	opRawCharge // a WindowCharged appended by hand, any tokens and split
	opMerge
	opCount
)

// fuzzer is a pool driven the store's way (due expiries, decide, fold)
// from fuzz input.
type fuzzer struct {
	t   *testing.T
	p   *Pool
	cat *Catalog
	now time.Time
	n   int
}

func (z *fuzzer) id() string { z.n++; return fmt.Sprintf("fz-%d", z.n) }

// fold applies an event a decision made: the fold must never refuse one.
func (z *fuzzer) fold(ev *v1.Event) {
	z.t.Helper()
	if err := z.p.Apply(ev); err != nil {
		z.t.Fatalf("the fold refused a decided event: %v", err)
	}
	checkInvariant1(z.t, z.p)
}

// decided checks a decision's outcome: an event to fold, or a domain error
// (an invalid command names its field).
func (z *fuzzer) decided(ev *v1.Event, err error) {
	z.t.Helper()
	var fe *FieldError
	switch {
	case err == nil && ev != nil:
		z.fold(ev)
	case errors.Is(err, ErrInvalid) && !errors.As(err, &fe):
		z.t.Fatalf("invalid command naming no field: %v", err)
	case err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrInsufficient) &&
		!errors.Is(err, ErrNotFound) && !errors.Is(err, ErrSuspended) && !errors.Is(err, ErrPackExists):
		z.t.Fatalf("unexpected error: %v", err)
	}
}

// raw folds a hand-appended event: refused or not, invariant 1 holds.
func (z *fuzzer) raw(ev *v1.Event) {
	z.t.Helper()
	if err := z.p.Apply(ev); err != nil && !errors.Is(err, ErrRefused) {
		z.t.Fatalf("fold error not marked refused: %v", err)
	}
	checkInvariant1(z.t, z.p)
}

func (z *fuzzer) step(op byte, n int64) {
	for _, ev := range z.p.DueExpiries(z.now) {
		z.fold(ev)
	}
	switch op % opCount {
	case opAddPack:
		z.decided(z.p.DecideAddPack(AddPack{EventID: z.id(), PackID: z.id(), Tokens: n, UnitPriceMicros: n / 7,
			ExpiresAt: z.now.Add(time.Duration(1+uint64(n)%(400*24)) * time.Hour), At: z.now}))
	case opAdjust:
		z.decided(z.p.DecideAdjust(Adjust{EventID: z.id(), Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: n, Reason: "fuzz", At: z.now}))
	case opLaunch:
		product := []string{"ONE", "BIG", "MID"}[uint64(n)%3]
		o, ev := z.p.DecideLaunch(Launch{EventID: z.id(), User: fmt.Sprintf("u%d", uint64(n)%5), Product: product, At: z.now}, z.cat)
		if o.BalanceAfter < 0 {
			z.t.Fatalf("launch answered balance_after %d", o.BalanceAfter)
		}
		if ev != nil {
			z.fold(ev)
		}
	case opMoveOut:
		z.decided(z.p.DecideMoveOut(z.id(), "civil", n, "fuzz", z.now, nil))
	case opAdvance:
		z.now = z.now.Add(time.Duration(uint64(n)%(40*24)) * time.Hour)
	case opBudget:
		z.decided(z.p.DecideSetBudget(z.id(), &v1.Budget{BudgetId: "b", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "u1",
			LimitTokens: n, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY, Hard: n%2 == 0}, z.now, nil))
	case opCapacity:
		z.decided(z.p.DecideSetCapacity(z.id(), "SEATS", v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, n, z.now, nil))
		z.decided(z.p.DecideUseCapacity(z.id(), "SEATS", "u1", n/2, z.now, nil))
	case opRawPack:
		z.raw(&v1.Event{EventId: z.id(), ServerTime: tsOf(z.now), Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{
			PackId: z.id(), Tokens: n, PurchasedAt: tsOf(z.now), ExpiresAt: tsOf(z.now.AddDate(1, 0, 0))}}})
	case opRawCharge:
		var split []*v1.PackSplit
		for i, pk := range z.p.Packs() {
			if i < 2 {
				split = append(split, &v1.PackSplit{PackId: pk.ID, Tokens: n >> i})
			}
		}
		z.raw(&v1.Event{EventId: z.id(), ServerTime: tsOf(z.now), Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: "u1", ProductCode: "ONE", Tokens: n, Split: split}}})
	case opMerge:
		if n%5 == 0 {
			z.decided(z.p.DecideMerge(z.id(), "civil", "fuzz", z.now, nil))
		}
	}
}

// FuzzPoolCommands drives a pool with commands whose numbers come from the
// fuzzer (int64 extremes, near-overflow sums, many packs) and asserts
// invariant 1 after every folded event: available = purchased - debited -
// expired - removed >= 0, held by the packs. Decided events are never
// refused by the fold; hand-appended ones may be, changing nothing.
func FuzzPoolCommands(f *testing.F) {
	le := func(ops ...any) []byte {
		var b []byte
		for i := 0; i < len(ops); i += 2 {
			b = append(b, byte(ops[i].(int)))
			b = binary.LittleEndian.AppendUint64(b, uint64(ops[i+1].(int64)))
		}
		return b
	}
	f.Add(le(opAddPack, int64(50), opRawPack, int64(9223372036854775797), opLaunch, int64(0), opAdjust, int64(9223372036854774857)))
	f.Add(le(opAddPack, int64(MaxPackTokens), opAddPack, int64(MaxPackTokens), opRawPack, int64(math.MaxInt64), opRawPack, int64(math.MinInt64)))
	f.Add(le(opAddPack, int64(100), opRawCharge, int64(math.MaxInt64), opRawCharge, int64(math.MinInt64), opRawCharge, int64(3)))
	f.Add(le(opAddPack, int64(math.MaxInt64), opAddPack, int64(math.MinInt64), opAdjust, int64(math.MinInt64), opMoveOut, int64(math.MaxInt64)))
	f.Add(le(opBudget, int64(math.MaxInt64), opCapacity, int64(math.MaxInt64), opCapacity, int64(MaxCapacityUnits), opCapacity, int64(MaxCapacityUnits)))
	many := []any{}
	for i := range 40 {
		many = append(many, opAddPack, int64(MaxPackTokens-int64(i)), opLaunch, int64(i), opAdvance, int64(100))
	}
	f.Add(le(append(many, opMerge, int64(0))...))
	f.Fuzz(fuzzPool)
}

func fuzzPool(t *testing.T, data []byte) {
	{
		cat := NewCatalog()
		for code, rate := range map[string]int64{"ONE": 1, "MID": 12345, "BIG": MaxDailyRate} {
			_ = cat.Apply(rateEvent(code, rate, t0.Add(-time.Hour)))
		}
		z := &fuzzer{t: t, p: New("acme", "design"), cat: cat, now: t0}
		for _, u := range []string{"u0", "u1", "u2", "u3", "u4"} {
			z.decided(z.p.DecideAssign(z.id(), u, []string{"*"}, t0, nil))
		}
		for len(data) > 0 && z.n < 2000 {
			var arg [8]byte
			copy(arg[:], data[1:])
			z.step(data[0], int64(binary.LittleEndian.Uint64(arg[:])))
			data = data[min(len(data), 9):]
		}
	}
}
