package reporting

import (
	"context"
	"errors"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// openCluster reads -clickhouse-cluster's nodes from the first of
// -clickhouse-addr's servers that answers, migrates every node it reaches,
// opens the reads (any node, through the Distributed tables) and a
// connection per shard listing its replicas, and returns the projections'
// sinks over those.
func (s *Service) openCluster(ctx context.Context) (func(projector.Projection, int) (projector.Sink, error), error) {
	cfg := s.cfg
	o, err := newCHOpener(cfg)
	if err != nil {
		return nil, err
	}
	boot, err := o.open(ctx, "", cfg.addrs()...)
	if err != nil {
		return nil, err
	}
	nodes, err := schema.Nodes(ctx, boot, cfg.ClickHouseCluster)
	boot.Close()
	if err != nil {
		return nil, err
	}
	shards := schema.Shards(nodes)
	if err := s.migrateNodes(ctx, o, shards); err != nil {
		return nil, err
	}
	var all []string
	weights := make([]uint32, len(shards))
	for i, shard := range shards {
		weights[i] = shard[0].Weight
		all = append(all, addrsOf(shard)...)
	}
	if s.ch, err = o.open(ctx, cfg.ClickHouseDatabase, all...); err != nil {
		return nil, err
	}
	var sinkShards []projector.Shard
	for _, shard := range shards {
		sh, err := s.openShard(ctx, o, shard)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", shard[0].Shard, err)
		}
		sinkShards = append(sinkShards, sh)
	}
	ranges := schema.NewShardRanges(weights)
	if ranges[len(ranges)-1] == 0 {
		return nil, fmt.Errorf("cluster %s: every shard has weight 0", quote.Prefix(cfg.ClickHouseCluster))
	}
	return func(p projector.Projection, part int) (projector.Sink, error) {
		return projector.NewShardedSink(sinkShards, ranges, p, part)
	}, nil
}

// openShard opens a shard's insert connection (its replicas in order, one
// of them answering) and one per replica for its resume point (dialled
// when used: one may be down).
func (s *Service) openShard(ctx context.Context, o chOpener, replicas []schema.Node) (projector.Shard, error) {
	conn, err := o.open(ctx, s.cfg.ClickHouseDatabase, addrsOf(replicas)...)
	if err != nil {
		return projector.Shard{}, err
	}
	s.chShards = append(s.chShards, conn)
	sh := projector.Shard{Conn: conn}
	for _, n := range replicas {
		r, err := o.lazy(s.cfg.ClickHouseDatabase, n.Addr)
		if err != nil {
			return projector.Shard{}, err
		}
		s.chShards = append(s.chShards, r)
		sh.Replicas = append(sh.Replicas, r)
	}
	return sh, nil
}

// migrateNodes runs the migrations on every node it reaches. A node that
// does not answer is skipped with a warning (it is migrated when reporting
// next starts while it is up), as long as each shard has one that does.
func (s *Service) migrateNodes(ctx context.Context, o chOpener, shards [][]schema.Node) error {
	c := schema.Cluster{Name: s.cfg.ClickHouseCluster, Database: s.cfg.ClickHouseDatabase}
	var errs []error
	for _, shard := range shards {
		migrated := 0
		for _, n := range shard {
			applied, err := migrateNode(ctx, o, n, c)
			if err != nil {
				s.log.WarnContext(ctx, "clickhouse node not migrated", "node", n.Addr, "shard", n.Shard, "replica", n.Replica, "err", err)
				continue
			}
			migrated++
			if len(applied) > 0 {
				s.log.InfoContext(ctx, "clickhouse migrated", "node", n.Addr, "database", c.Database, "applied", applied)
			}
		}
		if migrated == 0 {
			errs = append(errs, fmt.Errorf("cluster %s shard %d: no replica could be migrated", c.Name, shard[0].Shard))
		}
	}
	return errors.Join(errs...)
}

func migrateNode(ctx context.Context, o chOpener, n schema.Node, c schema.Cluster) ([]uint32, error) {
	conn, err := o.database(ctx, n.Addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return schema.MigrateNode(ctx, conn, c)
}

func addrsOf(nodes []schema.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Addr
	}
	return out
}

// closeShards closes the per-shard connections of a cluster.
func closeShards(conns []driver.Conn) error {
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
