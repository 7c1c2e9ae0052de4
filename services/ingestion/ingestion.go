// Package ingestion runs the launcher API: stateless, it authenticates
// launchers, validates, stamps receipt time, asks the ledger, records the raw
// event and answers.
package ingestion

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion/internal/launch"
)

// Config is ingestion's configuration.
type Config struct {
	config.Common
	LedgerAddr      string
	LedgerAPIKey    string
	MaxClockSkew    time.Duration
	ShutdownTimeout time.Duration
	Now             func() time.Time
}

// Register adds ingestion's flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, ":7070")
	fs.StringVar(&c.LedgerAddr, "ledger-addr", "127.0.0.1:7071", "ledger gRPC address")
	fs.StringVar(&c.LedgerAPIKey, "ledger-api-key", "", "service api key ingestion presents to the ledger")
	fs.DurationVar(&c.MaxClockSkew, "max-clock-skew", 24*time.Hour, "refuse live events whose client time is further than this from the server's")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long calls in flight may take to finish on shutdown")
}

// Validate joins every problem with the configuration.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.LedgerAddr == "" {
		errs = append(errs, config.Required("ledger-addr"))
	}
	if c.LedgerAPIKey == "" {
		errs = append(errs, config.Required("ledger-api-key"))
	}
	return errors.Join(errs...)
}

// Service is a running ingestion instance.
type Service struct {
	cfg    Config
	log    *slog.Logger
	nc     *nats.Conn
	ledger *grpc.ClientConn
	grpc   *grpcserver.Server
}

// New connects to NATS and the ledger and listens for gRPC.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	keys, err := auth.ParseKeyring(cfg.APIKeys)
	if err != nil {
		return nil, err
	}
	nc, js, err := eventlog.Connect(ctx, cfg.NATSURL, "ingestion", log, eventlog.StreamOptions{})
	if err != nil {
		return nil, err
	}
	conn, err := grpcserver.Dial(cfg.LedgerAddr, cfg.LedgerAPIKey)
	if err != nil {
		nc.Close()
		return nil, err
	}
	gs, err := grpcserver.Listen(grpcserver.Options{Listen: cfg.Listen, Log: log, Auth: auth.Authorizer{Keys: keys, Policy: launch.Policy}})
	if err != nil {
		conn.Close()
		nc.Close()
		return nil, err
	}
	v1.RegisterIngestionServiceServer(gs, &launch.Server{
		Ledger: v1.NewLedgerServiceClient(conn), JS: js, Now: cfg.Now, MaxSkew: cfg.MaxClockSkew,
	})
	return &Service{cfg: cfg, log: log, nc: nc, ledger: conn, grpc: gs}, nil
}

// Addr is the gRPC address listened on.
func (s *Service) Addr() string { return s.grpc.Addr() }

// Run serves until ctx ends, then shuts down gracefully.
func (s *Service) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve() }()
	s.log.Info("ingestion serving", "addr", s.Addr(), "ledger", s.cfg.LedgerAddr)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.grpc.ShutdownWithin(s.cfg.ShutdownTimeout)
	}
	_ = s.ledger.Close()
	if derr := s.nc.Drain(); derr != nil {
		s.nc.Close()
	}
	return err
}
