package reporting

import (
	"cmp"
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/outage"
)

// defaultClickHousePing is often enough that an outage is logged within
// seconds, rare enough to cost ClickHouse nothing.
const defaultClickHousePing = 5 * time.Second

// watchClickHouse runs watch on s's connection until ctx ends; the channel
// closes when it has returned.
func (s *Service) watchClickHouse(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	t := outage.New(s.log.With("clickhouse", s.cfg.ClickHouseAddr), "clickhouse unreachable", "clickhouse reachable again")
	go func() {
		defer close(done)
		watch(ctx, s.ch, cmp.Or(s.cfg.ClickHousePing, defaultClickHousePing), t)
	}()
	return done
}

// watch pings ClickHouse every interval until ctx ends, so its
// loss and recovery are logged once each even while nothing is projected
// or queried.
func watch(ctx context.Context, conn driver.Conn, every time.Duration, t *outage.Tracker) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, every)
		err := conn.Ping(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			t.Fail(ctx, err)
		default:
			t.OK(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
