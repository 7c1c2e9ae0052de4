// Package alerting is the alerting service: it folds the LEDGER stream into
// alert rules, publishes each alert once per crossing on the ALERTS stream,
// and serves AlertingService (WatchAlerts, ListAlerts) over gRPC.
package alerting

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/server"
)

// Name is the service's name in logs, traces and NATS connections.
const Name = "alerting"

// Shutdown budgets.
const (
	grpcStopTimeout  = 10 * time.Second
	natsDrainTimeout = 10 * time.Second
)

// Config is the alerting service's configuration.
type Config struct {
	config.Common
	// LowBalancePercent: a team at or below this share of its live tokens gets a low_balance alert.
	LowBalancePercent float64
}

// Register adds the service's flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, ":7073")
	fs.Float64Var(&c.LowBalancePercent, "low-balance-percent", 20, "raise low_balance when a team's available tokens fall to this percent of its live tokens (0-100, exclusive)")
}

// Validate joins every problem with the configuration.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.APIKeys != "" {
		if _, err := auth.ParseKeyring(c.APIKeys); err != nil {
			errs = append(errs, fmt.Errorf("api-keys: %w", err))
		}
	}
	if !(c.LowBalancePercent > 0 && c.LowBalancePercent < 100) {
		errs = append(errs, fmt.Errorf("low-balance-percent %v: must be above 0 and below 100", c.LowBalancePercent))
	}
	return errors.Join(errs...)
}

// Service is a running alerting process: a NATS connection, the rule engine
// and the gRPC server.
type Service struct {
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	engine *engine.Engine
	server *server.Server
	grpc   *grpcserver.Server
}

// New connects to NATS, provisions the streams and opens the gRPC listener,
// so Addr is known as soon as New returns. Run starts the work.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, err := auth.ParseKeyring(cfg.APIKeys)
	if err != nil {
		return nil, fmt.Errorf("api-keys: %w", err)
	}
	nc, js, err := eventlog.Connect(ctx, cfg.NATSURL, Name, log, eventlog.StreamOptions{})
	if err != nil {
		return nil, err
	}
	eng, err := engine.New(js, rules.Config{LowBalancePercent: cfg.LowBalancePercent}, log)
	if err != nil {
		nc.Close()
		return nil, err
	}
	gs, err := grpcserver.Listen(grpcserver.Options{
		Listen: cfg.Listen,
		Auth:   auth.Authorizer{Keys: keys, Policy: server.Policy()},
		Log:    log,
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	srv := server.New(js, log)
	v1.RegisterAlertingServiceServer(gs, srv)
	return &Service{log: log, nc: nc, js: js, engine: eng, server: srv, grpc: gs}, nil
}

// Addr is the gRPC address actually listened on.
func (s *Service) Addr() string { return s.grpc.Addr() }

// WaitProcessed blocks until the rule engine has folded the LEDGER message at
// seq and published its alerts (for tests and readiness checks).
func (s *Service) WaitProcessed(ctx context.Context, seq uint64) error {
	return s.engine.WaitFor(ctx, seq)
}

// Run runs the rule engine and serves gRPC until ctx ends or either fails,
// then shuts down in order: health NOT_SERVING, the engine stops after the
// message in hand, watchers are ended, gRPC stops gracefully (forced after a
// timeout), NATS drains. It returns nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	engineDone := make(chan error, 1)
	go func() { engineDone <- s.engine.Run(runCtx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- s.grpc.Serve() }()
	s.log.InfoContext(ctx, "alerting started", "addr", s.Addr())

	var errs []error
	engineRunning, serving := true, true
	select {
	case <-ctx.Done():
	case err := <-engineDone:
		engineRunning = false
		if err != nil {
			errs = append(errs, fmt.Errorf("rule engine: %w", err))
		}
	case err := <-serveDone:
		serving = false
		if err != nil {
			errs = append(errs, fmt.Errorf("serve grpc: %w", err))
		}
	}
	s.log.InfoContext(ctx, "alerting stopping")
	s.grpc.NotServing()
	cancel()
	if engineRunning {
		if err := <-engineDone; err != nil {
			errs = append(errs, fmt.Errorf("rule engine: %w", err))
		}
	}
	s.server.Close()
	s.grpc.ShutdownWithin(grpcStopTimeout)
	if serving {
		if err := <-serveDone; err != nil {
			errs = append(errs, fmt.Errorf("serve grpc: %w", err))
		}
	}
	if err := s.drain(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// drain closes the NATS connection after its pending work, within a budget.
func (s *Service) drain() error {
	closed := make(chan struct{})
	s.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := s.nc.Drain(); err != nil {
		s.nc.Close()
		return fmt.Errorf("drain nats: %w", err)
	}
	select {
	case <-closed:
		return nil
	case <-time.After(natsDrainTimeout):
		s.nc.Close()
		return errors.New("drain nats: timed out")
	}
}
