package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MembersBucket is the KV bucket where ledger replicas announce themselves.
const MembersBucket = "LEDGER_MEMBERS"

// Announcer keeps this replica's entry fresh and the ring's view current.
type Announcer struct {
	kv       jetstream.KeyValue
	ring     *Ring
	self     Member
	interval time.Duration
	log      *slog.Logger
}

// OpenAnnouncer opens the members bucket and loads the current members.
func OpenAnnouncer(ctx context.Context, js jetstream.JetStream, r *Ring, self Member, interval time.Duration, log *slog.Logger) (*Announcer, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: MembersBucket, Description: "live ledger replicas (id → gRPC address)",
		History: 1, TTL: time.Hour, Storage: jetstream.MemoryStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("members bucket: %w", err)
	}
	a := &Announcer{kv: kv, ring: r, self: self, interval: interval, log: log}
	if err := a.announce(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Announcer) announce(ctx context.Context) error {
	if _, err := a.kv.PutString(ctx, a.self.ID, a.self.Addr); err != nil {
		return fmt.Errorf("announce %s: %w", a.self.ID, err)
	}
	return nil
}

// Run announces every interval and follows the others until ctx ends, then
// withdraws this replica so the others take its pools at once.
func (a *Announcer) Run(ctx context.Context) error {
	w, err := a.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch members: %w", err)
	}
	defer func() { _ = w.Stop() }()
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := a.kv.Delete(wctx, a.self.ID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				a.log.Warn("withdraw from ring", "err", err)
			}
			return nil
		case <-tick.C:
			if err := a.announce(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("announce", "err", err)
			}
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil { // initial values delivered
				continue
			}
			a.apply(e)
		}
	}
}

func (a *Announcer) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		a.ring.Remove(e.Key())
		return
	}
	addr := strings.TrimSpace(string(e.Value()))
	a.ring.Upsert(Member{ID: e.Key(), Addr: addr, Seen: e.Created()})
}
