package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// Watcher keeps a keyring in step with a bucket: created keys are added,
// revoked or deleted ones removed, as JetStream pushes each change.
type Watcher struct {
	w      jetstream.KeyWatcher
	kind   Kind
	ring   *auth.Keyring
	log    *slog.Logger
	hashes map[string][32]byte // bucket key -> hash, to remove deleted entries
	done   chan struct{}
	stop   sync.Once
}

// Watch loads every key of kind into ring, returns once they are loaded,
// and keeps applying changes until Stop.
func Watch(ctx context.Context, kv jetstream.KeyValue, kind Kind, ring *auth.Keyring, log *slog.Logger) (*Watcher, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", kind.Bucket, err)
	}
	kw := &Watcher{w: w, kind: kind, ring: ring, log: log, hashes: map[string][32]byte{}, done: make(chan struct{})}
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return nil, fmt.Errorf("load %s: %w", kind.Bucket, ctx.Err())
		case entry, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("load %s: watch closed", kind.Bucket)
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
		kw.remove(entry.Key())
		return
	}
	var rec Record
	if err := json.Unmarshal(entry.Value(), &rec); err != nil {
		kw.log.Error("key record unreadable; ignored", "bucket", kw.kind.Bucket, "key", entry.Key(), "err", err)
		kw.remove(entry.Key())
		return
	}
	sum, err := rec.Hash()
	if err == nil && (!eventlog.ValidID(rec.Org) || entry.Key() != kvKey(rec.Org, rec.KeyID) || !kw.kind.Admits(rec)) {
		err = errors.New("organisation, key or role not of this bucket")
	}
	if err != nil {
		kw.log.Error("key record refused; ignored", "bucket", kw.kind.Bucket, "key", entry.Key(), "err", err)
		kw.remove(entry.Key())
		return
	}
	if rec.RevokedAt != nil {
		kw.remove(entry.Key())
		return
	}
	kw.ring.AddHash(sum, rec.Principal())
	kw.hashes[entry.Key()] = sum
}

func (kw *Watcher) remove(key string) {
	if sum, ok := kw.hashes[key]; ok {
		kw.ring.RevokeHash(sum)
		delete(kw.hashes, key)
	}
}

// Stop ends the watch and waits for the last change to be applied.
func (kw *Watcher) Stop() {
	kw.stop.Do(func() {
		_ = kw.w.Stop()
		<-kw.done
	})
}

// followRetry is how often Follow looks for a bucket not made yet.
var followRetry = time.Second

// Follow keeps ring in step with kind's bucket until ctx ends, for a
// service that reads the bucket but does not own it: it waits for the
// owner to make the bucket, then watches it, and watches again if the watch
// ends. It returns at once; keys arrive as they are read.
func Follow(ctx context.Context, js jetstream.JetStream, kind Kind, ring *auth.Keyring, log *slog.Logger) {
	retry := followRetry
	go func() {
		for ctx.Err() == nil {
			if err := followOnce(ctx, js, kind, ring, log); err != nil && ctx.Err() == nil {
				log.Debug("waiting for key bucket", "bucket", kind.Bucket, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}()
}

func followOnce(ctx context.Context, js jetstream.JetStream, kind Kind, ring *auth.Keyring, log *slog.Logger) error {
	kv, err := js.KeyValue(ctx, kind.Bucket)
	if err != nil {
		return err
	}
	w, err := Watch(ctx, kv, kind, ring, log)
	if err != nil {
		return err
	}
	log.Info("following key bucket", "bucket", kind.Bucket)
	select {
	case <-ctx.Done():
	case <-w.done:
	}
	w.Stop()
	// A watch that ended may have missed revocations: its keys go, and
	// the next watch loads what the bucket holds (closed, not open, meanwhile).
	for key := range w.hashes {
		w.remove(key)
	}
	return nil
}
