package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Pools lists every pool on the LEDGER streams as (org, team).
func (s *Store) Pools(ctx context.Context) ([][2]string, error) {
	streams, err := s.ledgerStreams(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	seen := map[[2]string]bool{}
	var out [][2]string
	for _, stream := range streams {
		name := stream.CachedInfo().Config.Name
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject.StreamSubjects(name)[0]))
		if err != nil {
			return nil, fmt.Errorf("list pools of %s: %w", name, err)
		}
		for subj := range info.State.Subjects {
			_, org, team, ok := subject.PoolOfSubject(subj)
			if !ok || team == eventlog.CatalogToken || seen[[2]string{org, team}] {
				continue
			}
			seen[[2]string{org, team}] = true
			out = append(out, [2]string{org, team})
		}
	}
	return out, nil
}

// Teams returns the sorted team ids with a pool subject in org (a valid id,
// so the filter stays within one tenant) on any LEDGER stream.
func (s *Store) Teams(ctx context.Context, org string) ([]string, error) {
	streams, err := s.ledgerStreams(ctx)
	if err != nil {
		return nil, err
	}
	var teams []string
	for _, stream := range streams {
		p, _ := subject.PartitionOfStream(stream.CachedInfo().Config.Name, subject.LedgerStream)
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject.LedgerSubjectIn(p, org, "*")))
		if err != nil {
			return nil, fmt.Errorf("teams of %s: %w", org, err)
		}
		for subj := range info.State.Subjects {
			_, _, team, ok := subject.PoolOfSubject(subj)
			if ok && team != eventlog.CatalogToken && eventlog.ValidID(team) {
				teams = append(teams, team)
			}
		}
	}
	slices.Sort(teams)
	return slices.Compact(teams), nil
}

// ledgerStreams returns the legacy LEDGER stream and every partition stream
// that exists (a pool placed by a replica of another N is in one too).
func (s *Store) ledgerStreams(ctx context.Context) ([]jetstream.Stream, error) {
	legacy, err := s.ledgerStream(ctx)
	if err != nil || s.placement == nil {
		return []jetstream.Stream{legacy}, err
	}
	parts, err := s.placement.partitions(ctx)
	if err != nil {
		return nil, err
	}
	out := []jetstream.Stream{legacy}
	for _, p := range parts {
		stream, err := s.placement.Stream(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, stream)
	}
	return out, nil
}

// Sweep records what time alone has made true in every pool this replica
// owns — packs that expired — so an idle pool's expiry is on the log at its
// instant's next sweep rather than at its next launch.
func (s *Store) Sweep(ctx context.Context, now time.Time, owns func(org, team string) bool) (int, error) {
	pools, err := s.Pools(ctx)
	if err != nil {
		return 0, err
	}
	recorded := 0
	for _, p := range pools {
		if !owns(p[0], p[1]) {
			continue
		}
		err := s.Decide(ctx, p[0], p[1], now, func(pl *pool.Pool) ([]*v1.Event, error) {
			recorded += len(pl.DueExpiries(now))
			return nil, nil
		})
		if err != nil {
			return recorded, err
		}
	}
	return recorded, nil
}
