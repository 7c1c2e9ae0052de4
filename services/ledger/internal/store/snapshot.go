package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// SnapshotBucket is the KV bucket holding pool snapshots: a cache for fast
// start, never the truth. A missing or unreadable snapshot means a replay.
const SnapshotBucket = "LEDGER_SNAPSHOTS"

// chunkSize keeps every KV value well under NATS's default 1 MiB payload; a
// busy pool's snapshot (it remembers 48 hours of answered event ids) can be
// larger, so it is written as chunks under a head that names them.
var chunkSize = 512 << 10

// Snapshots reads and writes pool snapshots.
type Snapshots struct {
	kv    jetstream.KeyValue
	times snapshotTimes
}

// OpenSnapshots creates or opens the snapshot bucket.
func OpenSnapshots(ctx context.Context, js jetstream.JetStream, replicas int) (*Snapshots, error) {
	if replicas == 0 {
		replicas = 1
	}
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket: SnapshotBucket, Description: "ledger pool snapshots (subject sequence + gzipped state, chunked)",
		History: 1, Replicas: replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot bucket: %w", err)
	}
	return &Snapshots{kv: kv}, nil
}

func headKey(org, team string) string { return org + "." + team }
func chunkKey(org, team string, gen uint64, i int) string {
	return org + "." + team + ".c" + strconv.FormatUint(gen, 10) + "-" + strconv.Itoa(i)
}

// head is seq (8 bytes) + generation (8) + chunk count (4).
const headLen = 20

// Load returns the latest snapshot of a pool and the subject sequence it
// covers; ok is false when there is none or it cannot be read whole.
func (s *Snapshots) Load(ctx context.Context, org, team string) (p *pool.Pool, seq uint64, ok bool, err error) {
	entry, err := s.kv.Get(ctx, headKey(org, team))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("load snapshot %s/%s: %w", org, team, err)
	}
	h := entry.Value()
	if len(h) != headLen {
		return nil, 0, false, nil
	}
	seq, gen, n := binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:16]), int(binary.BigEndian.Uint32(h[16:]))
	var packed bytes.Buffer
	for i := 0; i < n; i++ {
		c, err := s.kv.Get(ctx, chunkKey(org, team, gen, i))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, 0, false, nil // overwritten by a newer snapshot mid-read
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("load snapshot %s/%s: %w", org, team, err)
		}
		packed.Write(c.Value())
	}
	if p, ok = decodeSnapshot(&packed); !ok {
		return nil, 0, false, nil // unreadable or of another version: replay instead
	}
	s.times.set(headKey(org, team), entry.Created())
	return p, seq, true, nil
}

// decodeSnapshot unpacks a snapshot's chunks; ok is false when they do not
// make a pool this version can read.
func decodeSnapshot(packed io.Reader) (*pool.Pool, bool) {
	zr, err := gzip.NewReader(packed)
	if err != nil {
		return nil, false
	}
	state, err := io.ReadAll(zr)
	if err != nil {
		return nil, false
	}
	p, err := pool.UnmarshalSnapshot(state)
	return p, err == nil
}

// Save stores a pool's state as of subject sequence seq: the chunks of a new
// generation first, then the head that points at them, then the old chunks
// are deleted. A reader sees the old snapshot or the new one, never a mix.
func (s *Snapshots) Save(ctx context.Context, org, team string, seq uint64, state []byte) error {
	var packed bytes.Buffer
	zw := gzip.NewWriter(&packed)
	if _, err := zw.Write(state); err != nil {
		return fmt.Errorf("compress snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress snapshot: %w", err)
	}
	prevGen, prevN := uint64(0), 0
	if e, err := s.kv.Get(ctx, headKey(org, team)); err == nil && len(e.Value()) == headLen {
		prevGen, prevN = binary.BigEndian.Uint64(e.Value()[8:16]), int(binary.BigEndian.Uint32(e.Value()[16:]))
	}
	gen := prevGen + 1
	data := packed.Bytes()
	n := 0
	for off := 0; off < len(data) || n == 0; off += chunkSize {
		end := min(off+chunkSize, len(data))
		if _, err := s.kv.Put(ctx, chunkKey(org, team, gen, n), data[off:end]); err != nil {
			return fmt.Errorf("save snapshot %s/%s: %w", org, team, err)
		}
		n++
	}
	head := make([]byte, headLen)
	binary.BigEndian.PutUint64(head[:8], seq)
	binary.BigEndian.PutUint64(head[8:16], gen)
	binary.BigEndian.PutUint32(head[16:], uint32(n))
	if _, err := s.kv.Put(ctx, headKey(org, team), head); err != nil {
		return fmt.Errorf("save snapshot %s/%s: %w", org, team, err)
	}
	s.times.set(headKey(org, team), time.Now())
	for i := 0; i < prevN; i++ {
		_ = s.kv.Purge(ctx, chunkKey(org, team, prevGen, i))
	}
	return nil
}
