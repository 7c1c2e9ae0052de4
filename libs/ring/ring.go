// Package ring is the rule that spreads pools across ledger replicas: each
// replica announces itself in the KV bucket MembersBucket (key: its id,
// value: its gRPC address), and whoever reads the bucket — the replicas, and
// ingestion to send each pool's calls to its owner — picks a pool's owner
// among the live members by rendezvous hashing, so they agree without
// coordinating. Ownership is an optimisation, never a lock: when two views
// differ (a member joining or leaving), the ledger's expected-sequence append
// keeps every invariant. Pure code: the bucket is read by the callers.
package ring

import (
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"
)

// MembersBucket is the KV bucket where ledger replicas announce themselves.
const MembersBucket = "LEDGER_MEMBERS"

// A replica announces itself every AnnounceInterval; one not heard of for
// StaleAfter is taken for gone.
const (
	AnnounceInterval = 2 * time.Second
	StaleAfter       = 3 * AnnounceInterval
)

// PoolKey is the key a pool is hashed by.
func PoolKey(org, team string) string { return org + "." + team }

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

// Apply records one entry of the members bucket, heard now on the ring's
// clock: a put announces id at the address value, anything else (a delete,
// a purge) withdraws it. Liveness is judged on the ring's clock alone (the
// entry's own stamp is the NATS server's wall clock).
func (r *Ring) Apply(id string, value []byte, put bool) {
	if !put {
		r.Remove(id)
		return
	}
	r.Upsert(Member{ID: id, Addr: strings.TrimSpace(string(value)), Seen: r.now()})
}

// Self is the id the ring was made for ("" for a reader that is no member).
func (r *Ring) Self() string { return r.self }

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

// Ranked lists the live members in the order they would own key: the owner
// first, then whoever owns it once the one before is gone — so a gone
// owner's pools spread over the others.
func (r *Ring) Ranked(key string) []Member {
	live := r.Live()
	scores := make(map[string]uint64, len(live))
	for _, m := range live {
		scores[m.ID] = score(m.ID, key)
	}
	sort.SliceStable(live, func(i, j int) bool { return scores[live[i].ID] > scores[live[j].ID] })
	return live
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
