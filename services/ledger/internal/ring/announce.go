package ring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/outage"
)

// Announcer keeps this replica's entry fresh and the ring's view current.
type Announcer struct {
	js       jetstream.JetStream
	kv       jetstream.KeyValue
	ring     *Ring
	self     Member
	interval time.Duration
	replicas int
	log      *slog.Logger
	// peers are the other replicas last seen live (id → address), to log
	// each one's loss and return once.
	peers map[string]string
	// failing logs once that announcing fails (NATS away) and once that it works again.
	failing *outage.Tracker
}

// OpenAnnouncer opens the members bucket (replicated like the streams: on a
// single copy, losing its node makes every replica think the others died)
// and loads the current members.
func OpenAnnouncer(ctx context.Context, js jetstream.JetStream, r *Ring, self Member, interval time.Duration, replicas int, log *slog.Logger) (*Announcer, error) {
	kv, err := openMembers(ctx, js, replicas)
	if err != nil {
		return nil, err
	}
	a := &Announcer{js: js, kv: kv, ring: r, self: self, interval: interval, replicas: replicas, log: log,
		failing: outage.New(log, "ledger ring announcement failing: the other replicas will take this one's pools", "ledger ring announcement restored")}
	if err := a.announce(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// openMembers opens the members bucket, creating it when missing.
func openMembers(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket: MembersBucket, Description: "live ledger replicas (id → gRPC address)",
		History: 1, TTL: time.Hour, Storage: jetstream.MemoryStorage, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("members bucket: %w", err)
	}
	return kv, nil
}

func (a *Announcer) announce(ctx context.Context) error {
	// A put the server does not answer fails within a tick or so.
	ctx, cancel := context.WithTimeout(ctx, max(a.interval, time.Second))
	defer cancel()
	if _, err := a.kv.PutString(ctx, a.self.ID, a.self.Addr); err != nil {
		return fmt.Errorf("announce %s: %w", a.self.ID, err)
	}
	return nil
}

// Run announces every interval and follows the others until ctx ends, then
// withdraws this replica so the others take its pools at once.
func (a *Announcer) Run(ctx context.Context) error {
	for {
		again, err := a.watch(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			// The bucket went again before the watch began: retry at the next tick.
			a.failing.Fail(ctx, err, "replica", a.self.ID)
			select {
			case <-ctx.Done():
			case <-time.After(a.interval):
			}
		case !again:
			return nil
		}
	}
}

// watch is Run on one members bucket. It returns again when NATS was
// reconnected since the watch began: a restarted single server keeps no
// memory stream, so the bucket is a new one (made by this replica or
// another), which a new watch follows.
func (a *Announcer) watch(ctx context.Context) (again bool, err error) {
	reconnects := a.js.Conn().Stats().Reconnects
	w, err := a.kv.WatchAll(ctx)
	if err != nil {
		return false, fmt.Errorf("watch members: %w", err)
	}
	defer func() { _ = w.Stop() }()
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	loaded := false
	for {
		select {
		case <-ctx.Done():
			a.withdraw(ctx)
			return false, nil
		case <-tick.C:
			if a.tick(ctx) && a.js.Conn().Stats().Reconnects != reconnects {
				return true, nil
			}
			if loaded {
				a.follow(ctx)
			}
		case e, ok := <-w.Updates():
			if !ok {
				return false, nil
			}
			if e == nil { // initial values delivered
				loaded = true
				if a.peers == nil {
					a.peers = a.livePeers() // the members there at start are not news
				} else {
					a.follow(ctx) // a new bucket: who came back since the old one went
				}
				continue
			}
			a.apply(e)
			if loaded {
				a.follow(ctx)
			}
		}
	}
}

// tick announces this replica, making the bucket again if it is gone, and
// reports whether it is announced; a failure is logged when the first
// happens and when they end.
func (a *Announcer) tick(ctx context.Context) (announced bool) {
	err := a.announce(ctx)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) {
		if kv, oerr := openMembers(ctx, a.js, a.replicas); oerr == nil {
			a.kv = kv
			err = a.announce(ctx)
		}
	}
	switch {
	case err == nil:
		a.failing.OK(ctx, "replica", a.self.ID)
	case ctx.Err() == nil:
		a.failing.Fail(ctx, err, "replica", a.self.ID)
	}
	return err == nil
}

func (a *Announcer) withdraw(ctx context.Context) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := a.kv.Delete(wctx, a.self.ID); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		a.log.Warn("withdraw from ring", "err", err)
	}
}

func (a *Announcer) apply(e jetstream.KeyValueEntry) {
	a.ring.Apply(e.Key(), e.Value(), e.Operation() == jetstream.KeyValuePut)
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
