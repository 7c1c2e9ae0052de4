package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Catalogs follows every organisation's catalog subject and keeps the folded
// catalogs in memory. Readers get immutable snapshots.
type Catalogs struct {
	mu       sync.RWMutex
	byOrg    map[string]*pool.Catalog
	seq      uint64
	advanced chan struct{} // closed and replaced whenever seq moves
	cc       jetstream.ConsumeContext
}

// WatchCatalogs starts following the catalog subjects from the beginning.
func WatchCatalogs(ctx context.Context, js jetstream.JetStream) (*Catalogs, error) {
	c := &Catalogs{byOrg: map[string]*pool.Catalog{}, advanced: make(chan struct{})}
	cons, err := js.OrderedConsumer(ctx, eventlog.LedgerStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{eventlog.CatalogSubject("*")},
	})
	if err != nil {
		return nil, fmt.Errorf("watch catalogs: %w", err)
	}
	cc, err := cons.Consume(c.handle)
	if err != nil {
		return nil, fmt.Errorf("watch catalogs: %w", err)
	}
	c.cc = cc
	return c, nil
}

func (c *Catalogs) handle(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	ev, err := eventlog.Decode(msg.Data())
	org := strings.Split(msg.Subject(), ".")[1]
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		cur := c.byOrg[org]
		if cur == nil {
			cur = pool.NewCatalog()
		}
		c.byOrg[org] = cur.With(ev)
	}
	c.seq = meta.Sequence.Stream
	close(c.advanced)
	c.advanced = make(chan struct{})
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

// WaitFor blocks until the catalogs have folded stream sequence seq.
func (c *Catalogs) WaitFor(ctx context.Context, seq uint64) error {
	for {
		c.mu.RLock()
		done, ch := c.seq >= seq, c.advanced
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
func (c *Catalogs) Stop() { c.cc.Stop() }
