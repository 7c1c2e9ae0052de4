// Package alerting is the alerting service: it folds the LEDGER and USAGE
// streams into alert rules, publishes each alert once per crossing on the
// ALERTS stream, pushes alerts to signed webhooks, and serves
// AlertingService (alerts, acknowledgements, rules, webhooks) over gRPC.
package alerting

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/access"
	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/streamset"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/engine"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/server"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

// Name is the service's name in logs, traces and NATS connections.
const Name = "alerting"

// Config is the alerting service's configuration.
type Config struct {
	config.Common
	// LowBalancePercent: a team at or below this share of its live tokens gets
	// a low_balance alert, unless its own rules say otherwise.
	LowBalancePercent float64
	// TickEvery is how often the wall clock evaluates the time-based rules.
	TickEvery time.Duration
	// WebhookAttempts before a delivery becomes a dead letter.
	WebhookAttempts int
	// WebhookBackoff is the wait after a first failed delivery, doubled after each.
	WebhookBackoff time.Duration
	// WebhookAllow lists, comma-separated, the hosts, addresses and CIDR
	// prefixes webhooks may reach besides public https hosts.
	WebhookAllow string
	// StreamReplicas is the JetStream replication of ALERTS and the buckets.
	StreamReplicas int
	// UserHashKey keys the pseudonyms alerts of pseudonymised organisations carry.
	UserHashKey string
	// Mail is the SMTP server e-mail endpoints are delivered through.
	Mail email.Config
	// Now is the wall clock of ticks and webhook timestamps (nil: time.Now).
	Now func() time.Time
	// StreamScan is how often LEDGER and USAGE partition streams created
	// since the start are looked for (0: 30s).
	StreamScan time.Duration
}

// Register adds the service's flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "127.0.0.1:7073")
	fs.Float64Var(&c.LowBalancePercent, "low-balance-percent", 20, "default low_balance threshold: a team's available tokens at this percent of its live tokens (0-100, exclusive)")
	fs.DurationVar(&c.TickEvery, "tick", time.Minute, "how often the wall clock evaluates time-based rules (packs expiring, inactive users); 0 disables")
	fs.IntVar(&c.WebhookAttempts, "webhook-attempts", 6, "webhook delivery attempts before a dead letter")
	fs.DurationVar(&c.WebhookBackoff, "webhook-backoff", time.Second, "wait after a first failed webhook delivery, doubled after each")
	fs.DurationVar(&c.StreamScan, "stream-scan", defaultStreamScan, "how often LEDGER and USAGE partition streams created after the start are looked for and folded")
	fs.IntVar(&c.StreamReplicas, "stream-replicas", 1, "JetStream replicas of the ALERTS stream and the alerting buckets (3 in a cluster)")
	privacy.RegisterKey(fs, &c.UserHashKey)
	c.Mail.Register(fs)
	fs.StringVar(&c.WebhookAllow, "webhook-allow", "", "comma-separated hosts, IP addresses and CIDR prefixes webhooks may reach over http or on internal addresses (default: public https hosts only)")
}

func (c *Config) webhookPolicy() (*webhook.Policy, error) {
	return webhook.NewPolicy(strings.Split(c.WebhookAllow, ","))
}

// defaults are the rules of teams without settings.
func (c *Config) defaults() rules.Config {
	d := rules.Defaults()
	d.LowBalance.Percent = c.LowBalancePercent
	return d
}

// Validate joins every problem with the configuration.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate(), privacy.CheckKey(c.UserHashKey), c.Mail.Validate()}
	if !(c.LowBalancePercent > 0 && c.LowBalancePercent < 100) {
		errs = append(errs, fmt.Errorf("low-balance-percent %v: must be above 0 and below 100", c.LowBalancePercent))
	}
	if c.StreamScan < 0 || (c.StreamScan > 0 && c.StreamScan < 10*time.Millisecond) || c.StreamScan > time.Hour {
		errs = append(errs, fmt.Errorf("stream-scan %v: want between 10ms and 1h", c.StreamScan))
	}
	if c.TickEvery < 0 {
		errs = append(errs, fmt.Errorf("tick %v: must be 0 (off) or above", c.TickEvery))
	}
	if c.WebhookAttempts < 1 {
		errs = append(errs, fmt.Errorf("webhook-attempts %d: must be 1 or more", c.WebhookAttempts))
	}
	if c.WebhookBackoff <= 0 {
		errs = append(errs, fmt.Errorf("webhook-backoff %v: must be above 0", c.WebhookBackoff))
	}
	if _, err := c.webhookPolicy(); err != nil {
		errs = append(errs, fmt.Errorf("webhook-allow: %w", err))
	}
	return errors.Join(errs...)
}

// Service is a running alerting process: a NATS connection, a rule engine
// per source stream (each partition of LEDGER and USAGE), the webhook
// dispatcher and the gRPC server.
type Service struct {
	cfg      Config
	log      *slog.Logger
	nc       *nats.Conn
	js       jetstream.JetStream
	engines  engines
	webhooks *webhook.Dispatcher
	server   *server.Server
	grpc     *grpcserver.Server
}

// New connects to NATS, provisions the streams and opens the gRPC listener,
// so Addr is known as soon as New returns. Run starts the work.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	keys, err := cfg.Keyring(ctx, log)
	if err != nil {
		return nil, err
	}
	hooks, err := cfg.webhookPolicy()
	if err != nil {
		return nil, fmt.Errorf("webhook-allow: %w", err)
	}
	defaults := cfg.defaults()
	if err := defaults.Validate(); err != nil {
		return nil, err
	}
	serverTLS, err := cfg.ServerTLS()
	if err != nil {
		return nil, err
	}
	var mailer webhook.Mailer
	if cfg.Mail.Enabled() {
		sender, err := email.New(cfg.Mail)
		if err != nil {
			return nil, err
		}
		mailer = sender
	}
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err == nil {
			return
		}
		if cerr := s.close(); cerr != nil {
			log.Warn("clean up after a failed start", "err", cerr)
		}
	}()
	s.nc, s.js, err = cfg.ConnectNATS(ctx, natsauth.Alerting, log, eventlog.Streams{
		Options: eventlog.StreamOptions{Replicas: cfg.StreamReplicas},
		Own:     []string{eventlog.AlertsStream},
	})
	if err != nil {
		return nil, err
	}
	s.engines.finder = streamset.Finder{JS: s.js, Identity: natsauth.Alerting, Log: log}
	streams, err := s.engines.finder.Await(ctx, eventlog.DefaultStreamWait, eventlog.LedgerStream, eventlog.UsageStream)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, s.js, cfg.StreamReplicas)
	if err != nil {
		return nil, err
	}
	settings, err := privacy.Follow(ctx, s.js)
	if err != nil {
		return nil, err
	}
	people := privacy.New(cfg.UserHashKey, settings)
	if s.grpc, err = grpcserver.Listen(grpcserver.Options{
		Listen: cfg.Listen, TLS: serverTLS,
		Auth: auth.Authorizer{Keys: keys, Policy: access.Policy, Throttle: cfg.Throttle()},
		Log:  log,
	}); err != nil {
		return nil, err
	}
	s.server = server.New(s.js, st, defaults, hooks, log)
	s.server.People = people
	s.server.Mail = mailer != nil
	v1.RegisterAlertingServiceServer(s.grpc, s.server)
	s.engines.options = engine.Options{Defaults: defaults, Settings: st.Settings, People: people, TickEvery: cfg.TickEvery, Now: cfg.Now, Log: log}
	for _, stream := range streams {
		if _, err := s.engines.add(s.js, stream); err != nil {
			return nil, err
		}
	}
	s.webhooks = webhook.New(s.js, st, webhook.Options{Attempts: cfg.WebhookAttempts, Backoff: cfg.WebhookBackoff,
		Policy: hooks, People: people, Mail: mailer, Now: cfg.Now, Log: log.With("part", "webhooks")})
	keystore.Follow(ctx, s.js, keystore.People, keys, log)   // people's access keys, made through ingestion
	keystore.Follow(ctx, s.js, keystore.Sessions, keys, log) // console sessions' keys, made by reporting
	return s, nil
}

// Addr is the gRPC address actually listened on.
func (s *Service) Addr() string { return s.grpc.Addr() }

// WaitProcessed blocks until the rule engine has folded the message at seq
// of the one-stream layout's LEDGER and published its alerts (for tests and
// readiness checks).
func (s *Service) WaitProcessed(ctx context.Context, seq uint64) error {
	return s.WaitStream(ctx, eventlog.LedgerStream, seq)
}

// WaitUsage is WaitProcessed for the USAGE stream.
func (s *Service) WaitUsage(ctx context.Context, seq uint64) error {
	return s.WaitStream(ctx, eventlog.UsageStream, seq)
}

// Run runs the rule engines and the webhook dispatcher and serves gRPC until
// ctx ends or any fails, then shuts down in order: health NOT_SERVING, the
// engines stop after the message in hand and deliveries in hand finish,
// watchers are ended, gRPC stops gracefully (forced after a timeout), NATS
// drains. It returns nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done, started, followDone := s.runWorkers(runCtx)
	serveDone := make(chan error, 1)
	go func() { serveDone <- s.grpc.Serve() }()
	s.log.InfoContext(ctx, "alerting started", "addr", s.Addr())

	var errs []error
	stopped, serving := 0, true
	select {
	case <-ctx.Done():
	case r := <-done:
		stopped++
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
		} else {
			errs = append(errs, fmt.Errorf("%s stopped", r.name))
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
	<-followDone
	for n := started() - stopped; n > 0; n-- {
		if r := <-done; r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
		}
	}
	s.server.Close()
	s.grpc.ShutdownWithin(s.cfg.StopWithin())
	if serving {
		if err := <-serveDone; err != nil {
			errs = append(errs, fmt.Errorf("serve grpc: %w", err))
		}
	}
	if err := s.close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// close releases what New built, whether Run ran or New failed half-way.
func (s *Service) close() error {
	if s.grpc != nil {
		s.grpc.Stop()
	}
	return config.DrainNATS(s.nc, s.cfg.StopWithin())
}
