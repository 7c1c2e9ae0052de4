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
	opSubscription // a grant (or, for n divisible by 3, a revocation) of a named subscription
	opCount
)

// fuzzer is a pool driven the store's way (Pool.Decide) from fuzz input;
// replica folds what the decisions append, one event at a time.
type fuzzer struct {
	t          *testing.T
	p, replica *Pool
	cat        *Catalog
	now        time.Time
	n          int
}

func (z *fuzzer) id() string { z.n++; return fmt.Sprintf("fz-%d", z.n) }

// decide runs a command with Decide: the fold must never refuse what a
// decision made, and a domain error (an invalid command names its field)
// appends nothing. Invariant 1 holds after every event the replica folds.
func (z *fuzzer) decide(cmd Command) {
	z.t.Helper()
	events, err := z.p.Decide(z.now, cmd)
	var fe *FieldError
	switch {
	case errors.Is(err, ErrRefused):
		z.t.Fatalf("the fold refused a decided event: %v", err)
	case errors.Is(err, ErrInvalid) && !errors.As(err, &fe):
		z.t.Fatalf("invalid command naming no field: %v", err)
	case err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrInsufficient) &&
		!errors.Is(err, ErrNotFound) && !errors.Is(err, ErrSuspended) && !errors.Is(err, ErrPackExists):
		z.t.Fatalf("unexpected error: %v", err)
	}
	for _, ev := range events {
		if err := z.replica.Apply(ev); err != nil {
			z.t.Fatalf("a replica refused a decided event: %v", err)
		}
		checkInvariant1(z.t, z.replica)
	}
	checkInvariant1(z.t, z.p)
	checkCapacities(z.t, z.p, z.replica, z.now)
}

// single is the Command result of a decision of one event.
func single(ev *v1.Event, err error) ([]*v1.Event, error) {
	if err != nil {
		return nil, err
	}
	return events(ev), nil
}

// raw folds a hand-appended event: refused or not, invariant 1 holds.
func (z *fuzzer) raw(ev *v1.Event) {
	z.t.Helper()
	for _, p := range []*Pool{z.p, z.replica} {
		if err := p.Apply(ev); err != nil && !errors.Is(err, ErrRefused) {
			z.t.Fatalf("fold error not marked refused: %v", err)
		}
		checkInvariant1(z.t, p)
	}
}

func (z *fuzzer) step(op byte, n int64) {
	switch op % opCount {
	case opAddPack:
		z.decide(func(p *Pool) ([]*v1.Event, error) {
			return single(p.DecideAddPack(AddPack{EventID: z.id(), PackID: z.id(), Tokens: n, UnitPriceMicros: n / 7,
				ExpiresAt: z.now.Add(time.Duration(1+uint64(n)%(400*24)) * time.Hour), At: z.now}))
		})
	case opAdjust:
		z.decide(func(p *Pool) ([]*v1.Event, error) {
			return single(p.DecideAdjust(Adjust{EventID: z.id(), Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: n, Reason: "fuzz", At: z.now}))
		})
	case opLaunch:
		product := []string{"ONE", "BIG", "MID"}[uint64(n)%3]
		z.decide(func(p *Pool) ([]*v1.Event, error) {
			o, ev := p.DecideLaunch(Launch{EventID: z.id(), User: fmt.Sprintf("u%d", uint64(n)%5), Product: product, At: z.now}, z.cat)
			if o.BalanceAfter < 0 {
				z.t.Fatalf("launch answered balance_after %d", o.BalanceAfter)
			}
			return events(ev), nil
		})
	case opMoveOut:
		z.decide(func(p *Pool) ([]*v1.Event, error) {
			return single(p.DecideMoveOut(z.id(), "civil", n, "fuzz", z.now, nil))
		})
	case opAdvance:
		z.now = z.now.Add(time.Duration(uint64(n)%(40*24)) * time.Hour)
	case opBudget:
		z.decide(func(p *Pool) ([]*v1.Event, error) {
			return single(p.DecideSetBudget(z.id(), &v1.Budget{BudgetId: "b", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "u1",
				LimitTokens: n, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY, Hard: n%2 == 0}, z.now, nil))
		})
	case opCapacity:
		z.capacity(n)
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
	case opSubscription:
		z.subscription(n)
	case opMerge:
		if n%5 == 0 {
			z.decide(func(p *Pool) ([]*v1.Event, error) { return single(p.DecideMerge(z.id(), "civil", "fuzz", z.now, nil)) })
		}
	}
}

// capacity sets a capacity product of either kind with a term of 0 to 89
// days (0: none) ending at any hour, then uses half of it.
func (z *fuzzer) capacity(n int64) {
	var ends time.Time
	if d := time.Duration(uint64(n)%(90*24)) * time.Hour; d > 0 {
		ends = z.now.Add(d)
	}
	kind := []v1.CapacityKind{v1.CapacityKind_CAPACITY_KIND_EXHAUSTIBLE, v1.CapacityKind_CAPACITY_KIND_RETURNABLE}[uint64(n)>>8%2]
	z.decide(func(p *Pool) ([]*v1.Event, error) {
		return single(p.DecideSetCapacityTerm(z.id(), "SEATS", kind, n, ends, z.now, nil))
	})
	z.decide(func(p *Pool) ([]*v1.Event, error) {
		return single(p.DecideUseCapacity(z.id(), "SEATS", "u1", n/2, z.now, nil))
	})
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
	// A 48-hour term, three days on: the next decision sees it expired.
	f.Add(le(opCapacity, int64(48), opAdvance, int64(72), opLaunch, int64(0)))
	many := []any{}
	for i := range 40 {
		many = append(many, opAddPack, int64(MaxPackTokens-int64(i)), opLaunch, int64(i), opAdvance, int64(100))
	}
	f.Add(le(append(many, opMerge, int64(0))...))
	f.Add(le(opAddPack, int64(20), opSubscription, int64(1), opLaunch, int64(1), opAdvance, int64(30), opLaunch, int64(1), opSubscription, int64(3), opLaunch, int64(1)))
	f.Fuzz(fuzzPool)
}

func fuzzPool(t *testing.T, data []byte) {
	{
		cat := NewCatalog()
		for code, rate := range map[string]int64{"ONE": 1, "MID": 12345, "BIG": MaxDailyRate} {
			_ = cat.Apply(rateEvent(code, rate, t0.Add(-time.Hour)))
		}
		z := &fuzzer{t: t, p: New("acme", "design"), replica: New("acme", "design"), cat: cat, now: t0}
		for _, u := range []string{"u0", "u1", "u2", "u3", "u4"} {
			z.decide(func(p *Pool) ([]*v1.Event, error) { return single(p.DecideAssign(z.id(), u, []string{"*"}, t0, nil)) })
		}
		for len(data) > 0 && z.n < 2000 {
			var arg [8]byte
			copy(arg[:], data[1:])
			z.step(data[0], int64(binary.LittleEndian.Uint64(arg[:])))
			data = data[min(len(data), 9):]
		}
	}
}
