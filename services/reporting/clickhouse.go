package reporting

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/origin"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

// openProjections opens ClickHouse (one server, or every node of
// -clickhouse-cluster), migrates its schema, and builds one projector per
// stream of LEDGER and USAGE that exists now (the one-stream layout and the
// partitions), each checked to be the log its tables project and decoding
// each event once for all its tables. Run adds the partitions created later.
func (s *Service) openProjections(ctx context.Context, streams []string) (err error) {
	s.sink = func(p projector.Projection, part int) (projector.Sink, error) {
		return projector.NewClickHouseSink(s.ch, p, part), nil
	}
	if s.cfg.ClickHouseCluster != "" {
		if s.sink, err = s.openCluster(ctx); err != nil {
			return err
		}
	} else if err = s.openServer(ctx); err != nil {
		return err
	}
	for _, stream := range streams {
		if _, err := s.addStream(ctx, stream); err != nil {
			return err
		}
	}
	return nil
}

// openServer opens the one ClickHouse server and migrates its schema.
func (s *Service) openServer(ctx context.Context) (err error) {
	if s.ch, err = openClickHouse(ctx, s.cfg); err != nil {
		return err
	}
	applied, err := schema.Migrate(ctx, s.ch)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		s.log.InfoContext(ctx, "clickhouse migrated", "database", s.cfg.ClickHouseDatabase, "applied", applied)
	}
	return nil
}

// addStream builds the projector of stream into the tables of its base
// stream, each table's sink writing the stream's partition (on a cluster,
// on every shard), and keeps it with the others.
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
		if p.Stream != base {
			continue
		}
		sink, err := s.sink(p, part)
		if err != nil {
			return nil, err
		}
		tables = append(tables, projector.Table{Projection: p, Sink: sink})
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

// openClickHouse opens the service's database on the first of
// -clickhouse-addr's servers that answers, creating it if missing.
func openClickHouse(ctx context.Context, cfg Config) (driver.Conn, error) {
	o, err := newCHOpener(cfg)
	if err != nil {
		return nil, err
	}
	return o.database(ctx, cfg.addrs()...)
}

// chOpener opens connections to ClickHouse servers with the service's
// credentials, TLS and query limit.
type chOpener struct {
	cfg Config
	tls *tls.Config
}

func newCHOpener(cfg Config) (chOpener, error) {
	o := chOpener{cfg: cfg}
	if cfg.ClickHouseTLS {
		var err error
		if o.tls, err = cfg.TLS.Client(); err != nil {
			return o, fmt.Errorf("clickhouse tls: %w", err)
		}
	}
	return o, nil
}

// open connects to database on addrs (the first that answers, in order)
// and pings it.
func (o chOpener) open(ctx context.Context, database string, addrs ...string) (driver.Conn, error) {
	conn, err := o.lazy(database, addrs...)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping clickhouse %s: %w", strings.Join(addrs, ","), err)
	}
	return conn, nil
}

// lazy is open without the ping: it dials on first use.
func (o chOpener) lazy(database string, addrs ...string) (driver.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		TLS:              o.tls,
		Addr:             addrs,
		Auth:             clickhouse.Auth{Database: database, Username: o.cfg.ClickHouseUser, Password: o.cfg.ClickHousePassword},
		DialTimeout:      5 * time.Second,
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
		Settings:         clickhouse.Settings{"max_execution_time": maxExecutionSeconds(o.cfg.ClickHouseMaxExecution)},
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", strings.Join(addrs, ","), err)
	}
	return conn, nil
}

// database creates the service's database on the first of addrs that
// answers if it is missing, and returns a connection to it there.
func (o chOpener) database(ctx context.Context, addrs ...string) (driver.Conn, error) {
	boot, err := o.open(ctx, "", addrs...)
	if err != nil {
		return nil, err
	}
	err = schema.CreateDatabase(ctx, boot, o.cfg.ClickHouseDatabase)
	boot.Close()
	if err != nil {
		return nil, err
	}
	return o.open(ctx, o.cfg.ClickHouseDatabase, addrs...)
}
