// Package ring spreads pools across ledger replicas: each replica announces
// itself in a JetStream KV bucket, and every replica picks a pool's owner among
// the live ones by rendezvous hashing, so they agree without coordinating.
// Ownership is an optimisation, never a lock: when two replicas overlap (a
// member joining or leaving), the ledger's expected-sequence append keeps every
// invariant.
package ring

import (
	"hash/fnv"
	"sort"
	"sync"
	"time"
)

// Member is a live ledger replica.
type Member struct {
	ID, Addr string
	Seen     time.Time
}

// Ring is the current view of the members.
type Ring struct {
	self       string
	staleAfter time.Duration
	now        func() time.Time

	mu      sync.RWMutex
	members map[string]Member
}

// New returns a ring as seen by replica self; members not heard of for
// staleAfter are ignored.
func New(self string, staleAfter time.Duration, now func() time.Time) *Ring {
	return &Ring{self: self, staleAfter: staleAfter, now: now, members: map[string]Member{}}
}

// Upsert records that a member announced itself.
func (r *Ring) Upsert(m Member) {
	r.mu.Lock()
	r.members[m.ID] = m
	r.mu.Unlock()
}

// Remove forgets a member that left.
func (r *Ring) Remove(id string) {
	r.mu.Lock()
	delete(r.members, id)
	r.mu.Unlock()
}

// Live lists the members heard of recently, by id.
func (r *Ring) Live() []Member {
	r.mu.RLock()
	defer r.mu.RUnlock()
	cutoff := r.now().Add(-r.staleAfter)
	out := make([]Member, 0, len(r.members))
	for _, m := range r.members {
		if m.ID == r.self || m.Seen.After(cutoff) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Owner returns the member that owns key (highest rendezvous score); self is
// true when that is this replica or no other member is live.
func (r *Ring) Owner(key string) (m Member, self bool) {
	best, bestScore := Member{ID: r.self}, uint64(0)
	for _, c := range r.Live() {
		if s := score(c.ID, key); s > bestScore || (s == bestScore && c.ID < best.ID) {
			best, bestScore = c, s
		}
	}
	return best, best.ID == r.self
}

func score(member, key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(member))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	// fnv mixes the last bytes weakly; a final avalanche spreads keys evenly.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
