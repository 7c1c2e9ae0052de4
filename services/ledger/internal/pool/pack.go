package pool

import (
	"sort"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Pack is tokens bought at once.
type Pack struct {
	ID              string
	Tokens          int64
	Remaining       int64
	UnitPriceMicros int64
	Currency        string
	PurchasedAt     time.Time
	ExpiresAt       time.Time
	Source          v1.PackSource
	// Expired is set once the PackExpired event is folded.
	Expired bool
	// order is the position of the PackAdded event in the pool's history, the
	// last tie-breaker of the burn-down order.
	order int
}

// LiveAt reports whether the pack can still be spent at t.
func (p *Pack) LiveAt(t time.Time) bool { return !p.Expired && t.Before(p.ExpiresAt) }

// burnDownOrder sorts packs in the order debits take from them: the one that
// expires first; on equal expiry the smaller pack (its tokens cost more); then
// the older purchase.
func burnDownOrder(packs []*Pack) []*Pack {
	out := append([]*Pack(nil), packs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.ExpiresAt.Equal(b.ExpiresAt) {
			return a.ExpiresAt.Before(b.ExpiresAt)
		}
		if a.Tokens != b.Tokens {
			return a.Tokens < b.Tokens
		}
		if !a.PurchasedAt.Equal(b.PurchasedAt) {
			return a.PurchasedAt.Before(b.PurchasedAt)
		}
		return a.order < b.order
	})
	return out
}

// onePart is a split's first part with the slice holding it.
type onePart struct {
	parts [1]*v1.PackSplit
	part  v1.PackSplit
}

// split plans a debit of tokens across the live packs at t, in burn-down
// order. ok is false when the live packs cannot pay it in full.
func (p *Pool) split(tokens int64, t time.Time) (parts []*v1.PackSplit, ok bool) {
	left := tokens
	for _, pk := range p.burnOrder() {
		if left == 0 {
			break
		}
		if !pk.LiveAt(t) || pk.Remaining == 0 {
			continue
		}
		take := min(left, pk.Remaining)
		if parts == nil {
			// Most debits take from one pack: its part and the slice
			// holding it are one allocation.
			one := new(onePart)
			one.part.PackId, one.part.Tokens = pk.ID, take
			one.parts[0] = &one.part
			parts = one.parts[:]
		} else {
			parts = append(parts, &v1.PackSplit{PackId: pk.ID, Tokens: take})
		}
		left -= take
	}
	return parts, left == 0
}
