// Package reporting is the reporting service: it projects the LEDGER and
// USAGE streams (every partition of them) into ClickHouse exactly once and
// answers usage reports over gRPC.
package reporting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/access"
	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	"github.com/tokenmeter/tokenmeter/libs/lease"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/rolegrant"
	"github.com/tokenmeter/tokenmeter/libs/streamset"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/advice"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/balance"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/console"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/origin"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/planstore"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schedule"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/server"
)

// Name is the service name in telemetry and NATS.
const Name = "reporting"

// consoleDrain is how long page loads may finish on a stop: live alert feeds
// never end by themselves, so what is left after it is cut.
const consoleDrain = 2 * time.Second

// ErrLogReset is New's refusal to project a new event log into a database
// that holds projections of another one (see package origin).
var ErrLogReset = origin.ErrLogReset

// Service is a running reporting service.
type Service struct {
	cfg Config
	log *slog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream
	// streams finds the LEDGER and USAGE streams to project.
	streams streamset.Finder
	ch      driver.Conn
	// chShards are the projector's connections with -clickhouse-cluster:
	// per shard one to insert and one per replica.
	chShards []driver.Conn
	// sink builds a table's sink for a stream partition: on the one server,
	// or sharded over chShards.
	sink    func(p projector.Projection, part int) (projector.Sink, error)
	ledger  *balance.Ledger
	grpc    *grpcserver.Server
	console *console.Server
	// projs are the projectors of every stream found, one per stream.
	projMu sync.Mutex
	projs  []*projector.Projector
	// scheduler sends scheduled reports (nil without -smtp-addr).
	scheduler *schedule.Scheduler
	// settings are the organisations' personal-data settings.
	settings *privacy.Settings
	// leases share the streams' projection among replicas (nil: no lease).
	leases     *lease.Bucket
	holder     string
	projecting atomic.Int32
}

// New connects NATS and ClickHouse, migrates the schema and listens for
// gRPC; Addr is known when it returns. Run starts the work.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	if err := errors.Join(privacy.CheckKey(cfg.UserHashKey), checkRetired(&cfg)); err != nil {
		return nil, err
	}
	keys, err := cfg.Keyring(ctx, log)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err = s.openLog(ctx); err != nil {
		return nil, err
	}
	js := s.js
	if err = s.openLeases(ctx, js); err != nil {
		return nil, err
	}
	opts, err := serverOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	if s.settings, err = privacy.Follow(ctx, js); err != nil {
		return nil, err
	}
	opts.Privacy = privacy.New(cfg.UserHashKey, s.settings)
	opts.Profiles = privacy.FollowDirectory(ctx, js, s.settings, cfg.UserHashKey, log)
	opts.Zones = s.settings
	clientTLS, err := cfg.ClientTLS()
	if err != nil {
		return nil, err
	}
	ledgerKey, err := config.CallerKey(ctx, log, "ledger-api-key", cfg.LedgerAPIKey, cfg.LedgerAPIKeyFile)
	if err != nil {
		return nil, err
	}
	if s.ledger, err = balance.Dial(cfg.LedgerAddr, ledgerKey, cfg.LedgerTimeout, clientTLS); err != nil {
		return nil, err
	}
	if s.ledger != nil {
		opts.Balances = s.ledger
	} else {
		log.WarnContext(ctx, "no -ledger-addr: reports will say tokens remaining is unknown")
	}
	opts.Reports = query.NewReader(s.ch)
	opts.Plans = planstore.New(s.ch)
	sender, err := openSchedules(ctx, js, cfg.Mail, cfg.Replicas, &opts)
	if err != nil {
		return nil, err
	}
	tlsConf, err := transport(cfg)
	if err != nil {
		return nil, err
	}
	s.grpc, err = grpcserver.Listen(grpcserver.Options{
		Listen: cfg.Listen, TLS: tlsConf.TLS,
		Auth: auth.Authorizer{Keys: keys, Policy: access.Policy, Throttle: cfg.Throttle()},
		Log:  log,
	})
	if err != nil {
		return nil, err
	}
	opts.ScheduleCreated = func() {
		if s.scheduler != nil {
			s.scheduler.Nudge()
		}
	}
	srv := server.NewWith(opts)
	v1.RegisterReportingServiceServer(s.grpc, srv)
	if s.scheduler, err = s.newScheduler(opts.Schedules, srv, sender); err != nil {
		return nil, err
	}
	if cfg.ConsoleListen != "" {
		tlsConf.KnowsKey = func(secret string) bool { _, err := keys.Authenticate(secret); return err == nil }
		if err := s.listenConsole(ctx, cfg, tlsConf, js, opts.Privacy); err != nil {
			return nil, err
		}
	}
	keystore.Follow(ctx, js, keystore.People, keys, log) // people's access keys, made through ingestion
	keystore.Follow(ctx, js, keystore.Sessions, keys, log)
	return s, nil
}

// openLog connects NATS, waits for the LEDGER and USAGE streams and opens
// the projection of each. Reporting only reads: the ledger and ingestion
// provision what it projects, one stream or several partitions each.
func (s *Service) openLog(ctx context.Context) (err error) {
	s.nc, s.js, err = s.cfg.ConnectNATS(ctx, natsauth.Reporting, s.log, eventlog.Streams{})
	if err != nil {
		return err
	}
	s.streams = streamset.Finder{JS: s.js, Identity: natsauth.Reporting, Log: s.log}
	streams, err := s.streams.Await(ctx, eventlog.DefaultStreamWait, eventlog.LedgerStream, eventlog.UsageStream)
	if err != nil {
		return err
	}
	return s.openProjections(ctx, streams)
}

// listenConsole opens the console; with single sign-on, the bucket of its
// sessions' keys too (reporting owns it, every service follows it), and the
// owners' role grants (ingestion owns them, the console follows them).
func (s *Service) listenConsole(ctx context.Context, cfg Config, c console.Config, js jetstream.JetStream, people *privacy.Policy) error {
	c.Listen, c.ReportingAddr = cfg.ConsoleListen, s.grpc.Addr()
	c.LedgerAddr, c.AlertingAddr, c.IngestionAddr = cfg.LedgerAddr, cfg.AlertingAddr, cfg.IngestionAddr
	c.SSO, c.Log, c.People = cfg.oidc(), s.log.With("component", "console"), people.Users
	if c.SSO.Enabled() {
		store, err := keystore.Open(ctx, js, keystore.Sessions, cfg.Replicas)
		if err != nil {
			return err
		}
		c.SessionKeys = store
		grants := rolegrant.NewIndex()
		rolegrant.Follow(ctx, js, grants, s.log) // the owners' role grants, made through ingestion
		c.Grants = grants
	}
	var err error
	s.console, err = console.Listen(ctx, c)
	return err
}

// transport is the TLS of the gRPC server and the console: serving, calling
// the reporting service itself, and calling the others (nil: plaintext).
func transport(cfg Config) (c console.Config, err error) {
	if c.TLS, err = cfg.ServerTLS(); err != nil {
		return c, err
	}
	// The console relays browsers' calls: never with the service's client
	// certificate, which lets a service key through mutual TLS.
	if cfg.TLS.Dialing() {
		if c.ClientTLS, err = cfg.TLS.Anonymous(); err != nil {
			return c, err
		}
	}
	if cfg.TLS.Serving() {
		c.SelfTLS, err = cfg.TLS.Self()
	}
	return c, err
}

// ConsoleURL is where a browser opens the web console ("" without one).
func (s *Service) ConsoleURL() string {
	if s.console == nil {
		return ""
	}
	return s.console.URL()
}

func serverOptions(cfg Config, log *slog.Logger) (server.Options, error) {
	subs, err := advice.ParseSubscriptions(cfg.Subscriptions)
	if err != nil {
		return server.Options{}, fmt.Errorf("-subscriptions: %w", err)
	}
	buckets, err := cfg.buckets()
	if err != nil {
		return server.Options{}, err
	}
	return server.Options{
		Advice: advice.Config{TokenPrice: cfg.TokenPrice, Currency: cfg.Currency, Subscriptions: subs,
			HeavyDaysPerYear: int64(cfg.HeavyDaysPerYear), HeavyDaysPerMonth: cfg.HeavyDaysPerMonth},
		Buckets:       buckets,
		IdleDays:      cfg.IdleDays,
		SessionMaxGap: cfg.SessionMaxGap,
		Log:           log,
		Now:           time.Now,
	}, nil
}

// Addr is the gRPC address listened on.
func (s *Service) Addr() string { return s.grpc.Addr() }

// CaughtUpTo is the sequence of the one-stream layout's LEDGER every
// LEDGER table has projected up to (StreamCaughtUpTo for a partition).
func (s *Service) CaughtUpTo() uint64 { return s.StreamCaughtUpTo(eventlog.LedgerStream) }

// UsageCaughtUpTo is CaughtUpTo of USAGE.
func (s *Service) UsageCaughtUpTo() uint64 { return s.StreamCaughtUpTo(eventlog.UsageStream) }

// StreamCaughtUpTo is the sequence of stream (LEDGER, LEDGER-<p>, USAGE…)
// its tables have projected up to here (0 before it is found).
func (s *Service) StreamCaughtUpTo(stream string) uint64 {
	if p := s.projectorOf(stream); p != nil {
		return p.CaughtUpTo()
	}
	return 0
}

// Run projects and serves until ctx is done, then shuts down: health
// NOT_SERVING, projector stopped after its block in hand, gRPC graceful stop
// (forced after the shutdown timeout), ClickHouse and NATS closed. It returns
// nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	projCtx, stopProjectors := context.WithCancel(ctx)
	defer stopProjectors()
	projDone, running, followDone := s.runProjectors(projCtx)
	watchDone := s.watchClickHouse(projCtx)
	schedDone := make(chan error, 1)
	if s.scheduler != nil {
		go func() { schedDone <- s.scheduler.Run(projCtx) }()
	} else {
		schedDone <- nil
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- s.grpc.Serve() }()
	consoleDone := make(chan error, 1)
	if s.console != nil {
		go func() { consoleDone <- s.console.Serve() }()
		s.log.InfoContext(ctx, "console serving", "url", s.console.URL())
	}
	s.log.InfoContext(ctx, "reporting serving", "addr", s.Addr())

	var runErr error
	stopped, serveStopped := 0, false
	select {
	case <-ctx.Done():
	case err := <-serveDone:
		serveStopped = true
		runErr = fmt.Errorf("grpc server stopped unexpectedly: %w", err)
	case err := <-consoleDone:
		runErr = fmt.Errorf("console stopped unexpectedly: %w", err)
	case err := <-projDone:
		stopped++
		if ctx.Err() == nil { // it also returns (nil) when ctx is done
			runErr = fmt.Errorf("projector stopped unexpectedly: %w", err)
		}
	}
	s.log.InfoContext(ctx, "reporting shutting down")
	s.grpc.NotServing()
	if s.console != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(consoleDrain, s.cfg.StopWithin()))
		s.console.Shutdown(stopCtx)
		cancel()
	}
	stopProjectors()
	<-followDone
	for n := running() - stopped; n > 0; n-- {
		runErr = errors.Join(runErr, <-projDone)
	}
	<-watchDone
	runErr = errors.Join(runErr, <-schedDone)
	s.grpc.ShutdownWithin(s.cfg.StopWithin())
	if !serveStopped {
		runErr = errors.Join(runErr, <-serveDone)
	}
	s.close()
	return runErr
}

// close releases the adapters; the NATS connection has no consumer left by
// then, so closing it loses nothing.
func (s *Service) close() {
	if err := s.ledger.Close(); err != nil {
		s.log.Warn("close ledger client", "err", err)
	}
	if s.ch != nil {
		if err := s.ch.Close(); err != nil {
			s.log.Warn("close clickhouse", "err", err)
		}
	}
	if err := closeShards(s.chShards); err != nil {
		s.log.Warn("close clickhouse shards", "err", err)
	}
	if s.settings != nil {
		s.settings.Stop()
	}
	if err := config.DrainNATS(s.nc, s.cfg.StopWithin()); err != nil {
		s.log.Warn("stop", "err", err)
	}
}
