package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// Watcher keeps a keyring in step with the bucket: created keys are added,
// revoked or deleted ones removed, as JetStream pushes each change.
type Watcher struct {
	w      jetstream.KeyWatcher
	ring   *auth.Keyring
	log    *slog.Logger
	hashes map[string][32]byte // bucket key -> hash, to remove deleted entries
	done   chan struct{}
	stop   sync.Once
}

// Watch loads every key into ring, returns once they are loaded, and keeps
// applying changes until Stop.
func Watch(ctx context.Context, kv jetstream.KeyValue, ring *auth.Keyring, log *slog.Logger) (*Watcher, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch launcher keys: %w", err)
	}
	kw := &Watcher{w: w, ring: ring, log: log, hashes: map[string][32]byte{}, done: make(chan struct{})}
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return nil, fmt.Errorf("load launcher keys: %w", ctx.Err())
		case entry, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("load launcher keys: watch closed")
			}
			if entry == nil {
				go kw.follow()
				return kw, nil
			}
			kw.apply(entry)
		}
	}
}

func (kw *Watcher) follow() {
	defer close(kw.done)
	for entry := range kw.w.Updates() {
		if entry != nil {
			kw.apply(entry)
		}
	}
}

func (kw *Watcher) apply(entry jetstream.KeyValueEntry) {
	if entry.Operation() != jetstream.KeyValuePut {
		if sum, ok := kw.hashes[entry.Key()]; ok {
			kw.ring.RevokeHash(sum)
			delete(kw.hashes, entry.Key())
		}
		return
	}
	var rec Record
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		kw.log.Error("launcher key unreadable; ignored", "key", entry.Key(), "err", err)
		return
	}
	sum, err := rec.hash()
	if err != nil {
		kw.log.Error("launcher key unreadable; ignored", "key", entry.Key(), "err", err)
		return
	}
	if rec.RevokedAt != nil {
		kw.ring.RevokeHash(sum)
		delete(kw.hashes, entry.Key())
		return
	}
	kw.ring.AddHash(sum, rec.principal())
	kw.hashes[entry.Key()] = sum
}

// Stop ends the watch and waits for the last change to be applied.
func (kw *Watcher) Stop() {
	kw.stop.Do(func() {
		_ = kw.w.Stop()
		<-kw.done
	})
}
