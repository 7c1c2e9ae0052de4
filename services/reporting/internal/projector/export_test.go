package projector

import "context"

// SetBeforeShard makes s run f before each shard's part of a block: i is the
// shard, done how many shards the block reached already.
func SetBeforeShard(s *ShardedSink, f func(ctx context.Context, i, done int) error) {
	s.beforeShard = f
}
