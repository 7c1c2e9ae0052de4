// Package lease lets several replicas of a service share work that one of
// them at a time must do (a stream's projection): each unit is a key in a
// JetStream key-value bucket whose TTL is the lease's, held by the replica
// that created it and kept by updating it at its last revision.
//
// The holder's work runs under a fence: a deadline TTL minus a margin after
// the last renewal was sent. The server stores that renewal no earlier, so
// the key cannot expire, and no other replica can take it, before the fence
// has passed by the margin. Work must bound its writes by Fence (not only by
// its context, which is cancelled at the fence as well).
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// Bucket is a leases bucket whose keys expire TTL after their last renewal.
type Bucket struct {
	js  jetstream.JetStream
	cfg jetstream.KeyValueConfig

	mu sync.Mutex
	kv jetstream.KeyValue
}

// Open opens (creating when missing) the leases bucket name. It is on file:
// a NATS restart keeps the leases, and their holders renew them after it.
func Open(ctx context.Context, js jetstream.JetStream, name string, ttl time.Duration, replicas int) (*Bucket, error) {
	b := &Bucket{js: js, cfg: jetstream.KeyValueConfig{
		Bucket: name, Description: "leases: which replica does which unit of shared work",
		History: 1, TTL: ttl, Replicas: max(replicas, 1),
	}}
	if _, err := b.open(ctx, true); err != nil {
		return nil, err
	}
	return b, nil
}

// open returns the bucket, opening it again (made anew when an operator
// removed it) when again.
func (b *Bucket) open(ctx context.Context, again bool) (jetstream.KeyValue, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kv == nil || again {
		kv, err := eventlog.OpenBucket(ctx, b.js, b.cfg)
		if err != nil {
			return nil, err
		}
		b.kv = kv
	}
	return b.kv, nil
}

// Options describe the holder and its timing.
type Options struct {
	// Holder names this replica in the key's value (logs and operators).
	Holder string
	// TTL must equal the bucket's; renewals go every TTL/4, the fence falls
	// TTL/4 before the key could expire.
	TTL time.Duration
	// Log receives one line per lease taken and lost.
	Log *slog.Logger
}

// Work is what the holder does; it returns when ctx ends (nil) or fails.
// fence is the moment its writes must be done by, moved on by each renewal.
type Work func(ctx context.Context, fence func() time.Time) error

// Run holds key whenever it can and runs work while it does, until ctx ends
// (then it releases the key, so another replica takes over at once) or work
// fails (its error is returned, the key released).
// A lost lease is logged at Info: it follows a NATS outage (logged by the
// connection) or a pause of this process, and another replica takes over.
func (b *Bucket) Run(ctx context.Context, key string, o Options, work Work) error {
	for {
		kv, rev, at, ok := b.acquire(ctx, key, o)
		if !ok {
			return nil // ctx ended while waiting
		}
		o.Log.InfoContext(ctx, "lease taken", "key", key, "holder", o.Holder)
		err := hold(ctx, kv, key, rev, at, o, work)
		if ctx.Err() != nil || err != nil {
			return err
		}
		o.Log.InfoContext(ctx, "lease lost: another replica may take over", "key", key, "holder", o.Holder)
	}
}

// acquire creates key, retrying every TTL/4 while another replica holds it
// (or NATS is away).
func (b *Bucket) acquire(ctx context.Context, key string, o Options) (kv jetstream.KeyValue, rev uint64, at time.Time, ok bool) {
	tick := time.NewTicker(o.TTL / 4)
	defer tick.Stop()
	again := false
	for {
		at = time.Now()
		cctx, cancel := context.WithTimeout(ctx, o.TTL/4)
		var err error
		kv, err = b.open(cctx, again)
		if err == nil {
			rev, err = kv.Create(cctx, key, []byte(o.Holder))
		}
		cancel()
		if err == nil {
			return kv, rev, at, true
		}
		// Anything but another holder (the bucket removed, NATS restarted
		// without it): open it again, made anew when missing.
		again = !errors.Is(err, jetstream.ErrKeyExists)
		select {
		case <-ctx.Done():
			return nil, 0, time.Time{}, false
		case <-tick.C:
		}
	}
}

// fence is the holder's deadline, moved on by renewals.
type fence struct {
	mu sync.Mutex
	at time.Time
}

func (f *fence) get() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.at }

func (f *fence) set(t time.Time) { f.mu.Lock(); f.at = t; f.mu.Unlock() }

// hold runs work and renews the key until ctx ends, work returns or the
// fence passes without a renewal; it returns work's error.
func hold(ctx context.Context, kv jetstream.KeyValue, key string, rev uint64, at time.Time, o Options, work Work) error {
	margin := o.TTL / 4
	f := &fence{at: at.Add(o.TTL - margin)}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- work(wctx, f.get) }()
	tick := time.NewTicker(o.TTL / 4)
	defer tick.Stop()
	passed := time.NewTimer(time.Until(f.get()))
	defer passed.Stop()
	for {
		select {
		case err := <-done:
			release(kv, key, rev, o)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("work under lease %s: %w", key, err)
			}
			return nil
		case <-passed.C:
		case <-tick.C:
		}
		if !time.Now().Before(f.get()) {
			stop() // no renewal in time: another replica may hold the key soon
			stopped(<-done, key, o)
			return nil
		}
		sent := time.Now()
		rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), f.get()) // renewals go on while work winds down
		next, err := kv.Update(rctx, key, []byte(o.Holder), rev)
		cancel()
		switch {
		case err == nil:
			rev = next
			f.set(sent.Add(o.TTL - margin))
			passed.Reset(time.Until(f.get()))
		case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound):
			stop() // taken or gone: not ours any more
			stopped(<-done, key, o)
			return nil
		}
	}
}

// release deletes key at rev so another replica need not wait for its TTL;
// a key already taken or gone is left alone.
func release(kv jetstream.KeyValue, key string, rev uint64, o Options) {
	ctx, cancel := context.WithTimeout(context.Background(), o.TTL/4)
	defer cancel()
	if err := kv.Delete(ctx, key, jetstream.LastRevision(rev)); err != nil {
		o.Log.Debug("lease release", "key", key, "err", err)
	}
}

// stopped notes how work stopped for a lost lease: Run takes the lease
// again and restarts it, so its error is not Run's.
func stopped(err error, key string, o Options) {
	if err != nil {
		o.Log.Debug("work stopped with its lease", "key", key, "err", err)
	}
}
