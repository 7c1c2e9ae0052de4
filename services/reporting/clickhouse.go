package reporting

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/origin"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// openProjections opens ClickHouse, migrates its schema, checks that the
// tables project this log and builds one projector per stream, which
// decodes each event once for all its tables.
func (s *Service) openProjections(ctx context.Context, js jetstream.JetStream) (err error) {
	cfg, log := s.cfg, s.log
	if s.ch, err = openClickHouse(ctx, cfg); err != nil {
		return err
	}
	applied, err := schema.Migrate(ctx, s.ch)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.InfoContext(ctx, "clickhouse migrated", "database", cfg.ClickHouseDatabase, "applied", applied)
	}
	for _, stream := range []string{eventlog.LedgerStream, eventlog.UsageStream} {
		if err := origin.Check(ctx, s.ch, js, stream, cfg.ClickHouseDatabase); err != nil {
			return err
		}
	}
	for _, stream := range []string{eventlog.LedgerStream, eventlog.UsageStream} {
		var tables []projector.Table
		for _, p := range projector.Projections() {
			if p.Stream == stream {
				tables = append(tables, projector.Table{Projection: p, Sink: projector.NewClickHouseSink(s.ch, p)})
			}
		}
		proj, err := projector.NewStream(js, stream, tables, log.With("component", "projector"),
			projector.Options{BatchSize: cfg.FlushRows, FlushInterval: cfg.FlushInterval})
		if err != nil {
			return err
		}
		s.projs = append(s.projs, proj)
	}
	return nil
}

// maxExecutionSeconds is ClickHouse's max_execution_time for d: whole
// seconds, at least one (0 would mean no limit).
func maxExecutionSeconds(d time.Duration) int {
	if d <= 0 {
		d = time.Minute
	}
	return max(1, int(d/time.Second))
}

func openClickHouse(ctx context.Context, cfg Config) (driver.Conn, error) {
	var tlsConf *tls.Config
	if cfg.ClickHouseTLS {
		var err error
		if tlsConf, err = cfg.TLS.Client(); err != nil {
			return nil, fmt.Errorf("clickhouse tls: %w", err)
		}
	}
	open := func(database string) (driver.Conn, error) {
		conn, err := clickhouse.Open(&clickhouse.Options{
			TLS:         tlsConf,
			Addr:        []string{cfg.ClickHouseAddr},
			Auth:        clickhouse.Auth{Database: database, Username: cfg.ClickHouseUser, Password: cfg.ClickHousePassword},
			DialTimeout: 5 * time.Second,
			Settings:    clickhouse.Settings{"max_execution_time": maxExecutionSeconds(cfg.ClickHouseMaxExecution)},
		})
		if err != nil {
			return nil, fmt.Errorf("open clickhouse %s: %w", cfg.ClickHouseAddr, err)
		}
		if err := conn.Ping(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ping clickhouse %s: %w", cfg.ClickHouseAddr, err)
		}
		return conn, nil
	}
	boot, err := open("")
	if err != nil {
		return nil, err
	}
	err = schema.CreateDatabase(ctx, boot, cfg.ClickHouseDatabase)
	boot.Close()
	if err != nil {
		return nil, err
	}
	return open(cfg.ClickHouseDatabase)
}
