package reporting

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/origin"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// openProjections opens ClickHouse, migrates its schema, and builds one
// projector per stream of LEDGER and USAGE that exists now (the one-stream
// layout and the partitions), each checked to be the log its tables project
// and decoding each event once for all its tables. Run adds the partitions
// created later.
func (s *Service) openProjections(ctx context.Context, streams []string) (err error) {
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
	for _, stream := range streams {
		if _, err := s.addStream(ctx, stream); err != nil {
			return err
		}
	}
	return nil
}

// addStream builds the projector of stream into the tables of its base
// stream, writing the stream's partition, and keeps it with the others.
func (s *Service) addStream(ctx context.Context, stream string) (*projector.Projector, error) {
	base, part, ok := baseOf(stream)
	if !ok {
		return nil, fmt.Errorf("stream %s: not a LEDGER or USAGE stream", stream)
	}
	if err := origin.Check(ctx, s.ch, s.js, stream, s.cfg.ClickHouseDatabase); err != nil {
		return nil, err
	}
	var tables []projector.Table
	for _, p := range projector.Projections() {
		if p.Stream == base {
			tables = append(tables, projector.Table{Projection: p, Sink: projector.NewClickHouseSink(s.ch, p, part)})
		}
	}
	proj, err := projector.NewStream(s.js, stream, tables, s.log.With("component", "projector"),
		projector.Options{BatchSize: s.cfg.FlushRows, FlushInterval: s.cfg.FlushInterval})
	if err != nil {
		return nil, err
	}
	s.projMu.Lock()
	s.projs = append(s.projs, proj)
	s.projMu.Unlock()
	return proj, nil
}

// baseOf is the base stream (LEDGER, USAGE) of stream and its partition.
func baseOf(stream string) (base string, part int, ok bool) {
	for _, b := range []string{eventlog.LedgerStream, eventlog.UsageStream} {
		if p, ok := subject.PartitionOfStream(stream, b); ok {
			return b, p, true
		}
	}
	return "", 0, false
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
