package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Catalogs follows every organisation's catalog subject on every LEDGER
// stream and keeps the folded catalogs in memory. Readers get immutable
// snapshots.
type Catalogs struct {
	mu       sync.RWMutex
	byOrg    map[string]*pool.Catalog
	seq      map[string]uint64 // stream → last sequence folded
	advanced chan struct{}     // closed and replaced whenever a seq moves
	follower *eventlog.Follower
}

// WatchCatalogs starts following the catalog subjects from the beginning and
// returns once it has folded what the log held.
func WatchCatalogs(ctx context.Context, js jetstream.JetStream, log *slog.Logger) (*Catalogs, error) {
	c := &Catalogs{byOrg: map[string]*pool.Catalog{}, seq: map[string]uint64{}, advanced: make(chan struct{})}
	f, err := eventlog.FollowStreams(ctx, js, eventlog.LedgerStream, catalogFilter, c.handle, log)
	if err != nil {
		return nil, fmt.Errorf("watch catalogs: %w", err)
	}
	c.follower = f
	return c, nil
}

// catalogFilter is every catalog subject of partition p's stream.
func catalogFilter(p int) string { return subject.LedgerSubjectIn(p, "*", subject.CatalogToken) }

func (c *Catalogs) handle(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	ev, err := eventlog.Decode(msg.Data())
	_, org, _, ok := subject.PoolOfSubject(msg.Subject())
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil && ok {
		cur := c.byOrg[org]
		if cur == nil {
			cur = pool.NewCatalog()
		}
		c.byOrg[org] = cur.With(ev)
	}
	c.seq[meta.Stream] = meta.Sequence.Stream
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// Follow makes sure stream (a LEDGER stream a catalog was just placed in)
// is followed, without waiting for the next discovery.
func (c *Catalogs) Follow(ctx context.Context, stream string) error {
	return c.follower.Ensure(ctx, stream)
}

// Get returns org's catalog as last seen (never nil).
func (c *Catalogs) Get(org string) *pool.Catalog {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if cat := c.byOrg[org]; cat != nil {
		return cat
	}
	return pool.NewCatalog()
}

// WaitFor blocks until the catalogs have folded sequence seq of stream.
func (c *Catalogs) WaitFor(ctx context.Context, stream string, seq uint64) error {
	for {
		c.mu.RLock()
		done, ch := c.seq[stream] >= seq, c.advanced
		c.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitForEvent blocks until org's catalog holds event id, at most within;
// it reports whether it does.
func (c *Catalogs) WaitForEvent(ctx context.Context, org, id string, within time.Duration) bool {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		c.mu.RLock()
		cat, ch := c.byOrg[org], c.advanced
		c.mu.RUnlock()
		if _, ok := cat.Applied(id); ok {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		}
	}
}

// Stop stops following.
func (c *Catalogs) Stop() { c.follower.Stop() }
