package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// SnapshotBucket is the KV bucket holding pool snapshots: a cache for fast
// start, never the truth. A missing or unreadable snapshot means a replay.
const SnapshotBucket = "LEDGER_SNAPSHOTS"

// Snapshots reads and writes pool snapshots.
type Snapshots struct {
	kv jetstream.KeyValue
}

// OpenSnapshots creates or opens the snapshot bucket.
func OpenSnapshots(ctx context.Context, js jetstream.JetStream, replicas int) (*Snapshots, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: SnapshotBucket, Description: "ledger pool snapshots (subject sequence + state)",
		History: 1, Replicas: replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot bucket: %w", err)
	}
	return &Snapshots{kv: kv}, nil
}

func snapshotKey(org, team string) string { return org + "." + team }

// Load returns the latest snapshot of a pool and the subject sequence it
// covers; ok is false when there is none (or it cannot be read).
func (s *Snapshots) Load(ctx context.Context, org, team string) (p *pool.Pool, seq uint64, ok bool, err error) {
	entry, err := s.kv.Get(ctx, snapshotKey(org, team))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("load snapshot %s/%s: %w", org, team, err)
	}
	data := entry.Value()
	if len(data) < 8 {
		return nil, 0, false, nil
	}
	p, err = pool.UnmarshalSnapshot(data[8:])
	if err != nil {
		return nil, 0, false, nil // a snapshot of another version: replay instead
	}
	return p, binary.BigEndian.Uint64(data[:8]), true, nil
}

// Save stores a pool's state as of subject sequence seq.
func (s *Snapshots) Save(ctx context.Context, org, team string, seq uint64, state []byte) error {
	data := make([]byte, 8, 8+len(state))
	binary.BigEndian.PutUint64(data, seq)
	data = append(data, state...)
	if _, err := s.kv.Put(ctx, snapshotKey(org, team), data); err != nil {
		return fmt.Errorf("save snapshot %s/%s: %w", org, team, err)
	}
	return nil
}
