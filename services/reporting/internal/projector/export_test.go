package projector

import "context"

// SetBeforeShard makes s run f before each shard's part of a block: i is the
// shard, done how many shards the block reached already.
func SetBeforeShard(s *ShardedSink, f func(ctx context.Context, i, done int) error) {
	s.beforeShard = f
}

// Points are s's shard resume points as its last MaxSeq read them.
func Points(s *ShardedSink) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.points...)
}
