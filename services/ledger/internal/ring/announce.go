package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
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
	// peers are the other replicas last seen live (id → address), to log
	// each one's loss and return once.
	peers map[string]string
}

// OpenAnnouncer opens the members bucket and loads the current members.
func OpenAnnouncer(ctx context.Context, js jetstream.JetStream, r *Ring, self Member, interval time.Duration, log *slog.Logger) (*Announcer, error) {
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{
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
	loaded := false // the members there at start are not news
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
			if loaded {
				a.follow(ctx)
			}
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil { // initial values delivered
				loaded, a.peers = true, a.livePeers()
				continue
			}
			a.apply(e)
			if loaded {
				a.follow(ctx)
			}
		}
	}
}

func (a *Announcer) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		a.ring.Remove(e.Key())
		return
	}
	// Seen when heard, on the ring's clock: liveness is judged on that clock
	// alone (the entry's own stamp is the NATS server's wall clock).
	addr := strings.TrimSpace(string(e.Value()))
	a.ring.Upsert(Member{ID: e.Key(), Addr: addr, Seen: a.ring.now()})
}

// livePeers are the live replicas other than this one.
func (a *Announcer) livePeers() map[string]string {
	out := map[string]string{}
	for _, m := range a.ring.Live() {
		if m.ID != a.self.ID {
			out[m.ID] = m.Addr
		}
	}
	return out
}

// follow logs each replica that went (withdrew or stopped announcing) and
// each that came (back), once, comparing the ring with what it last saw.
func (a *Announcer) follow(ctx context.Context) {
	now := a.livePeers()
	for id, addr := range a.peers {
		if _, ok := now[id]; !ok {
			a.log.WarnContext(ctx, "ledger replica lost: its pools move to the others", "replica", id, "addr", addr)
		}
	}
	for id, addr := range now {
		if _, ok := a.peers[id]; !ok {
			a.log.InfoContext(ctx, "ledger replica joined", "replica", id, "addr", addr)
		}
	}
	a.peers = now
}
