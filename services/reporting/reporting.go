// Package reporting is the reporting service: it projects the LEDGER stream
// into ClickHouse exactly once and answers usage reports over gRPC.
package reporting

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/server"
)

// Name is the service name in telemetry and NATS.
const Name = "reporting"

// Config is the reporting service's configuration.
type Config struct {
	config.Common
	ClickHouseAddr     string
	ClickHouseDatabase string
	ClickHouseUser     string
	ClickHousePassword string
	// FlushRows and FlushInterval bound a projection block.
	FlushRows     int
	FlushInterval time.Duration
	// ShutdownTimeout bounds the graceful gRPC stop.
	ShutdownTimeout time.Duration
}

// Register adds the flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, ":7072")
	fs.StringVar(&c.ClickHouseAddr, "clickhouse-addr", "127.0.0.1:19000", "ClickHouse native protocol host:port")
	fs.StringVar(&c.ClickHouseDatabase, "clickhouse-database", "tokenmeter", "ClickHouse database (created if missing)")
	fs.StringVar(&c.ClickHouseUser, "clickhouse-user", "default", "ClickHouse user")
	fs.StringVar(&c.ClickHousePassword, "clickhouse-password", "", "ClickHouse password")
	fs.IntVar(&c.FlushRows, "projector-flush-rows", 5000, "rows per ClickHouse insert block")
	fs.DurationVar(&c.FlushInterval, "projector-flush-interval", 200*time.Millisecond, "longest a projected row waits for its insert")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "graceful gRPC stop before forcing")
}

// Validate joins every configuration problem.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.ClickHouseAddr == "" {
		errs = append(errs, config.Required("clickhouse-addr"))
	}
	if c.ClickHouseDatabase == "" {
		errs = append(errs, config.Required("clickhouse-database"))
	} else if err := schema.CheckDatabase(c.ClickHouseDatabase); err != nil {
		errs = append(errs, fmt.Errorf("-clickhouse-database: %w", err))
	}
	if c.FlushRows < 1 {
		errs = append(errs, fmt.Errorf("-projector-flush-rows %d: want at least 1", c.FlushRows))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("-projector-flush-interval %s: want a positive duration", c.FlushInterval))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-shutdown-timeout %s: want a positive duration", c.ShutdownTimeout))
	}
	if c.APIKeys != "" {
		if _, err := auth.ParseKeyring(c.APIKeys); err != nil {
			errs = append(errs, fmt.Errorf("-api-keys: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Service is a running reporting service.
type Service struct {
	cfg  Config
	log  *slog.Logger
	nc   *nats.Conn
	ch   driver.Conn
	grpc *grpcserver.Server
	proj *projector.Projector
}

// New connects NATS and ClickHouse, migrates the schema and listens for
// gRPC; Addr is known when it returns. Run starts the work.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	keys, err := auth.ParseKeyring(cfg.APIKeys)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	var js jetstream.JetStream
	s.nc, js, err = eventlog.Connect(ctx, cfg.NATSURL, Name, log, eventlog.StreamOptions{})
	if err != nil {
		return nil, err
	}
	if s.ch, err = openClickHouse(ctx, cfg); err != nil {
		return nil, err
	}
	applied, err := schema.Migrate(ctx, s.ch)
	if err != nil {
		return nil, err
	}
	if len(applied) > 0 {
		log.InfoContext(ctx, "clickhouse migrated", "database", cfg.ClickHouseDatabase, "applied", applied)
	}
	s.proj, err = projector.New(js, projector.NewClickHouseSink(s.ch), log.With("component", "projector"),
		projector.Options{BatchSize: cfg.FlushRows, FlushInterval: cfg.FlushInterval})
	if err != nil {
		return nil, err
	}
	s.grpc, err = grpcserver.Listen(grpcserver.Options{
		Listen: cfg.Listen,
		Auth:   auth.Authorizer{Keys: keys, Policy: server.Policy()},
		Log:    log,
	})
	if err != nil {
		return nil, err
	}
	v1.RegisterReportingServiceServer(s.grpc, server.New(query.NewReader(s.ch), log, time.Now))
	return s, nil
}

// Addr is the gRPC address listened on.
func (s *Service) Addr() string { return s.grpc.Addr() }

// CaughtUpTo is the highest LEDGER sequence projected into ClickHouse.
func (s *Service) CaughtUpTo() uint64 { return s.proj.CaughtUpTo() }

// Run projects and serves until ctx is done, then shuts down: health
// NOT_SERVING, projector stopped after its block in hand, gRPC graceful stop
// (forced after the shutdown timeout), ClickHouse and NATS closed. It returns
// nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	projCtx, stopProjector := context.WithCancel(ctx)
	defer stopProjector()
	projDone := make(chan error, 1)
	go func() { projDone <- s.proj.Run(projCtx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- s.grpc.Serve() }()
	s.log.InfoContext(ctx, "reporting serving", "addr", s.Addr())

	var runErr error
	projStopped, serveStopped := false, false
	select {
	case <-ctx.Done():
	case err := <-serveDone:
		serveStopped = true
		runErr = fmt.Errorf("grpc server stopped unexpectedly: %v", err)
	case err := <-projDone:
		projStopped = true
		if ctx.Err() == nil { // it also returns (nil) when ctx is done
			runErr = fmt.Errorf("projector stopped unexpectedly: %v", err)
		}
	}
	s.log.InfoContext(ctx, "reporting shutting down")
	s.grpc.NotServing()
	stopProjector()
	if !projStopped {
		runErr = errors.Join(runErr, <-projDone)
	}
	s.grpc.ShutdownWithin(s.cfg.ShutdownTimeout)
	if !serveStopped {
		runErr = errors.Join(runErr, <-serveDone)
	}
	s.close()
	return runErr
}

// close releases the adapters; the NATS connection has no consumer left by
// then, so closing it loses nothing.
func (s *Service) close() {
	if s.ch != nil {
		if err := s.ch.Close(); err != nil {
			s.log.Warn("close clickhouse", "err", err)
		}
	}
	if s.nc != nil {
		s.nc.Close()
	}
}

func openClickHouse(ctx context.Context, cfg Config) (driver.Conn, error) {
	open := func(database string) (driver.Conn, error) {
		conn, err := clickhouse.Open(&clickhouse.Options{
			Addr:        []string{cfg.ClickHouseAddr},
			Auth:        clickhouse.Auth{Database: database, Username: cfg.ClickHouseUser, Password: cfg.ClickHousePassword},
			DialTimeout: 5 * time.Second,
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
