package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// Pools lists every pool on the LEDGER stream as (org, team).
func (s *Store) Pools(ctx context.Context) ([][2]string, error) {
	stream, err := s.js.Stream(ctx, eventlog.LedgerStream)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter("ledger.*.*"))
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	var out [][2]string
	for subject := range info.State.Subjects {
		parts := strings.Split(subject, ".")
		if len(parts) != 3 || parts[2] == eventlog.CatalogToken {
			continue
		}
		out = append(out, [2]string{parts[1], parts[2]})
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
