package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// PlacementBucket records each pool's partition under "<org>.<team>" (the
// catalog's team is subject.CatalogToken): "-1" for the legacy LEDGER
// stream, "<p>" for LEDGER-<p>. A record is created once and never changed.
const PlacementBucket = natsauth.PoolPlacement

// placementCacheSize bounds the placements held in memory (a few dozen bytes
// each); an evicted one costs one KV read when its pool is next loaded.
const placementCacheSize = 1 << 16

// Placement says which LEDGER stream holds each pool. A pool is placed when
// it is first written: in the stream that already holds its history if any
// (a pool from before partitions, or from a layout since changed), else in
// subject.PartitionOf(org, team, n). The record is created with kv.Create,
// so replicas racing on a new pool — even with different n — all take the
// first record; a pool therefore never changes streams when n changes.
type Placement struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	n     int
	cache *lru.Cache[poolKey, int]

	mu      sync.Mutex
	streams map[int]jetstream.Stream
}

// OpenPlacement opens (creating it if missing) the placement bucket of a
// ledger of n partitions (n <= 1: new pools in the legacy LEDGER stream).
func OpenPlacement(ctx context.Context, js jetstream.JetStream, n, replicas int) (*Placement, error) {
	if n > subject.MaxPartitions {
		return nil, fmt.Errorf("partitions %d: at most %d", n, subject.MaxPartitions)
	}
	kv, err := eventlog.OpenBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:       PlacementBucket,
		Description:  "tokenmeter: the LEDGER partition of each pool, recorded when it is first written",
		Replicas:     max(replicas, 1),
		History:      1,
		MaxValueSize: 256, // a record is at most 3 bytes; the limit counts the create's headers too
	})
	if err != nil {
		return nil, err
	}
	if err := waitAnswering(ctx, kv); err != nil {
		return nil, err
	}
	cache, err := lru.New[poolKey, int](placementCacheSize)
	if err != nil {
		return nil, err
	}
	return &Placement{js: js, kv: kv, n: n, cache: cache, streams: map[int]jetstream.Stream{}}, nil
}

// waitAnswering waits (bounded by ctx) until the bucket answers reads: a
// replicated bucket just created has no leader for a moment, and the first
// pools placed would fail with no responders.
func waitAnswering(ctx context.Context, kv jetstream.KeyValue) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := kv.Get(ctx, "_ready")
		if err == nil || errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, jetstream.ErrNoStreamResponse) {
			return fmt.Errorf("placement bucket: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("placement bucket: no leader: %w", err)
		case <-time.After(50 * time.Millisecond): // polling the bucket's election
		}
	}
}

// Of returns the partition of pool (org, team), recording it when record is
// set and the pool has none yet. placed is false only for a pool that has
// neither a record nor history (and record was not set): p is then where
// it would go, and a later write may still place it elsewhere.
func (pl *Placement) Of(ctx context.Context, org, team string, record bool) (p int, placed bool, err error) {
	key := poolKey{org, team}
	if p, ok := pl.cache.Get(key); ok {
		return p, true, nil
	}
	p, found, err := pl.recorded(ctx, key)
	if err != nil || found {
		return p, found, err
	}
	p, found, err = pl.history(ctx, org, team)
	if err != nil {
		return 0, false, err
	}
	if !found && !record {
		return subject.PartitionOf(org, team, pl.n), false, nil
	}
	if !found {
		p = subject.PartitionOf(org, team, pl.n)
	}
	return pl.create(ctx, key, p)
}

// recorded reads the pool's record, if any, into the cache.
func (pl *Placement) recorded(ctx context.Context, key poolKey) (int, bool, error) {
	entry, err := pl.kv.Get(ctx, key.org+"."+key.team)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("placement of %s/%s: %w", key.org, key.team, err)
	}
	p, err := strconv.Atoi(string(entry.Value()))
	if err != nil || p < subject.Unpartitioned || p >= subject.MaxPartitions {
		return 0, false, fmt.Errorf("placement of %s/%s: bad record %s", key.org, key.team, quote.Prefix(string(entry.Value())))
	}
	pl.cache.Add(key, p)
	return p, true, nil
}

// create records p for the pool unless another replica recorded one first,
// whose record then wins.
func (pl *Placement) create(ctx context.Context, key poolKey, p int) (int, bool, error) {
	_, err := pl.kv.Create(ctx, key.org+"."+key.team, []byte(strconv.Itoa(p)))
	if errors.Is(err, jetstream.ErrKeyExists) {
		won, found, err := pl.recorded(ctx, key)
		if err == nil && !found {
			err = fmt.Errorf("placement of %s/%s: record vanished", key.org, key.team)
		}
		return won, found, err
	}
	if err != nil {
		return 0, false, fmt.Errorf("place %s/%s: %w", key.org, key.team, err)
	}
	pl.cache.Add(key, p)
	return p, true, nil
}

// history finds the stream already holding events of the pool: the legacy
// LEDGER stream, or any partition stream that exists.
func (pl *Placement) history(ctx context.Context, org, team string) (int, bool, error) {
	parts, err := pl.partitions(ctx)
	if err != nil {
		return 0, false, err
	}
	for _, p := range append([]int{subject.Unpartitioned}, parts...) {
		stream, err := pl.Stream(ctx, p)
		if err != nil {
			return 0, false, err
		}
		last, err := eventlog.LastSequence(ctx, stream, subject.LedgerSubjectIn(p, org, team))
		if err != nil {
			return 0, false, fmt.Errorf("history of %s/%s: %w", org, team, err)
		}
		if last > 0 {
			return p, true, nil
		}
	}
	return 0, false, nil
}

// partitions lists the LEDGER partition streams that exist.
func (pl *Placement) partitions(ctx context.Context) ([]int, error) {
	names := pl.js.StreamNames(ctx, jetstream.WithStreamListSubject("ledger.>"))
	var out []int
	for name := range names.Name() {
		if p, ok := subject.PartitionOfStream(name, subject.LedgerStream); ok && p != subject.Unpartitioned {
			out = append(out, p)
		}
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("list ledger streams: %w", err)
	}
	return out, nil
}

// Stream returns the handle of partition p's LEDGER stream, asked of the
// server once: its reads go to the server each time, so keeping it reads
// nothing stale.
func (pl *Placement) Stream(ctx context.Context, p int) (jetstream.Stream, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if s, ok := pl.streams[p]; ok {
		return s, nil
	}
	name := subject.LedgerStreamOf(p)
	s, err := pl.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	pl.streams[p] = s
	return s, nil
}

// Place returns the LEDGER subject and stream name of pool (org, team),
// recording its placement when record is set; without a placement (a store
// of the one-stream layout) it is in the legacy LEDGER stream.
func (s *Store) Place(ctx context.Context, org, team string, record bool) (subj, stream string, err error) {
	if s.placement == nil {
		return subject.LedgerSubject(org, team), subject.LedgerStream, nil
	}
	p, _, err := s.placement.Of(ctx, org, team, record)
	if err != nil {
		return "", "", err
	}
	return subject.LedgerSubjectIn(p, org, team), subject.LedgerStreamOf(p), nil
}
