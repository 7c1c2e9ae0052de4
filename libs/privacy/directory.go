package privacy

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Directory shows users' profiles: the ones the log holds (Settings),
// opened with the keys of the PERSON_KEYS bucket, none of an erased user.
type Directory struct {
	settings *Settings
	hashKey  []byte
	mu       sync.RWMutex
	keys     map[string]personKey // bucket key → key
}

// followRetry is how often a directory looks again for a bucket the ledger
// has not made yet.
const followRetry = time.Second

// FollowDirectory returns the directory of settings and keeps the keys it
// opens profiles with in step with the bucket until ctx ends (the bucket
// may appear after the start: the ledger makes it).
func FollowDirectory(ctx context.Context, js jetstream.JetStream, settings *Settings, hashKey string, log *slog.Logger) *Directory {
	d := &Directory{settings: settings, hashKey: []byte(hashKey), keys: map[string]personKey{}}
	go func() {
		for ctx.Err() == nil {
			if err := d.watch(ctx, js); err != nil && ctx.Err() == nil {
				log.Debug("waiting for person keys", "bucket", PersonKeysBucket, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(followRetry):
			}
		}
	}()
	return d
}

// watch applies the bucket's keys until the watch ends; then the keys go
// (a watch that ended may have missed an erasure) and the next loads again.
func (d *Directory) watch(ctx context.Context, js jetstream.JetStream) error {
	kv, err := js.KeyValue(ctx, PersonKeysBucket)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() {
		_ = w.Stop()
		d.mu.Lock()
		d.keys = map[string]personKey{}
		d.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case entry, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if entry != nil {
				d.apply(entry)
			}
		}
	}
}

func (d *Directory) apply(entry jetstream.KeyValueEntry) {
	var key personKey
	put := entry.Operation() == jetstream.KeyValuePut && json.Unmarshal(entry.Value(), &key) == nil
	d.mu.Lock()
	defer d.mu.Unlock()
	if put {
		d.keys[entry.Key()] = key
	} else {
		delete(d.keys, entry.Key())
	}
}

// Profile returns the profile org gave user, if there is one it can read:
// none for an erased user, nor for one sealed under a key since deleted.
// Callers show it only where org shows personal data.
func (d *Directory) Profile(org, user string) (Profile, bool) {
	st, ok := d.settings.profile(org, user)
	if !ok {
		return Profile{}, false
	}
	if st.sealed == nil {
		return st.plain, true // written before profiles were sealed
	}
	d.mu.RLock()
	key, ok := d.keys[keyName(d.hashKey, org, user)]
	d.mu.RUnlock()
	if !ok {
		return Profile{}, false
	}
	return open(key, org, user, st.keyID, st.sealed)
}
