package rolegrant

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Index holds the live grants as the bucket pushes them, for a reader (the
// console): a grant revoked or deleted leaves it, and OnEnd's functions hear of it.
type Index struct {
	mu    sync.RWMutex
	byOrg map[string]map[string]*v1.RoleGrant
	ended []func(org, id string)
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byOrg: map[string]map[string]*v1.RoleGrant{}}
}

// OnEnd has f told of every grant that stops being live (org, grant id),
// from the goroutine that follows the bucket.
func (ix *Index) OnEnd(f func(org, id string)) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.ended = append(ix.ended, f)
}

func (ix *Index) tell(org, id string) {
	ix.mu.RLock()
	ended := ix.ended
	ix.mu.RUnlock()
	for _, f := range ended {
		f(org, id)
	}
}

// Live returns the organisation's live grants, oldest first.
func (ix *Index) Live(org string) []*v1.RoleGrant {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]*v1.RoleGrant, 0, len(ix.byOrg[org]))
	for _, g := range ix.byOrg[org] {
		out = append(out, g)
	}
	slices.SortFunc(out, Older)
	return out
}

// IsLive says whether the organisation's grant id is live.
func (ix *Index) IsLive(org, id string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.byOrg[org][id]
	return ok
}

// replace swaps in a whole new set (a watch's first values) and tells of
// the grants it no longer holds.
func (ix *Index) replace(next map[string]map[string]*v1.RoleGrant) {
	ix.mu.Lock()
	old := ix.byOrg
	ix.byOrg = next
	ix.mu.Unlock()
	for org, grants := range old {
		for id := range grants {
			if _, ok := next[org][id]; !ok {
				ix.tell(org, id)
			}
		}
	}
}

// apply records one change pushed by the bucket.
func (ix *Index) apply(entry jetstream.KeyValueEntry, log *slog.Logger) {
	org, id, g := decode(entry, log)
	ix.mu.Lock()
	_, was := ix.byOrg[org][id]
	if g != nil {
		if ix.byOrg[org] == nil {
			ix.byOrg[org] = map[string]*v1.RoleGrant{}
		}
		ix.byOrg[org][id] = g
	} else {
		delete(ix.byOrg[org], id)
	}
	ix.mu.Unlock()
	if was && g == nil {
		ix.tell(org, id)
	}
}

// decode reads an entry: the live grant it holds, or nil (revoked, deleted,
// unreadable, of another organisation's key, or of a role nobody may hold).
func decode(entry jetstream.KeyValueEntry, log *slog.Logger) (org, id string, g *v1.RoleGrant) {
	org, id, _ = cutKey(entry.Key())
	if entry.Operation() != jetstream.KeyValuePut {
		return org, id, nil
	}
	rec := &v1.RoleGrant{}
	err := proto.Unmarshal(entry.Value(), rec)
	if err == nil {
		_, err = auth.ParseRole(rec.GetRole(), rec.GetRoleTeamId())
	}
	if err != nil || rec.GetOrgId() != org || rec.GetGrantId() != id || !eventlog.ValidID(org) ||
		!keystore.ValidKeyID(id) || CheckValue(rec.GetClaim(), rec.GetClaimValue()) != "" || rec.GetClaim() == v1.GrantClaim_GRANT_CLAIM_UNSPECIFIED {
		log.Error("role grant refused; ignored", "bucket", Bucket, "key", entry.Key(), "err", err)
		return org, id, nil
	}
	if rec.GetRevokedAt() != nil {
		return org, id, nil
	}
	return org, id, rec
}

func cutKey(k string) (org, id string, ok bool) {
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '.' {
			return k[:i], k[i+1:], true
		}
	}
	return "", k, false
}

// followRetry is how often Follow looks for a bucket not made yet.
var followRetry = time.Second

// Follow keeps ix in step with the bucket until ctx ends: it waits for the
// owner (ingestion) to make the bucket, watches it, and watches again if
// the watch ends; each new watch's first values replace the index, so a
// revocation missed in between still ends its grant. It returns at once.
func Follow(ctx context.Context, js jetstream.JetStream, ix *Index, log *slog.Logger) {
	retry := followRetry
	go func() {
		for ctx.Err() == nil {
			if err := followOnce(ctx, js, ix, log); err != nil && ctx.Err() == nil {
				log.Debug("waiting for the role grants bucket", "bucket", Bucket, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}()
}

func followOnce(ctx context.Context, js jetstream.JetStream, ix *Index, log *slog.Logger) error {
	kv, err := js.KeyValue(ctx, Bucket)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	next := map[string]map[string]*v1.RoleGrant{}
	loaded := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case entry, ok := <-w.Updates():
			switch {
			case !ok:
				return nil
			case entry == nil && !loaded:
				ix.replace(next)
				loaded = true
				log.Info("following role grants", "bucket", Bucket)
			case entry != nil && loaded:
				ix.apply(entry, log)
			case entry != nil:
				if org, id, g := decode(entry, log); g != nil {
					if next[org] == nil {
						next[org] = map[string]*v1.RoleGrant{}
					}
					next[org][id] = g
				} else {
					delete(next[org], id)
				}
			}
		}
	}
}
