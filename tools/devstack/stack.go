// Package devstack runs the four tokenmeter services in one process against
// one NATS server and one ClickHouse: the dev stack of `make run` and the
// end-to-end tests. The services are the same code the separate binaries run.
package devstack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/services/alerting"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
	"github.com/tokenmeter/tokenmeter/services/ledger"
	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// Dev credentials. They are printed by `make run`; never use them elsewhere.
const (
	AdminKey = "dev-admin-key"
	// OwnerKey may also create and revoke people's access keys.
	OwnerKey = "dev-owner-key"
	// ServiceKey is ingestion's service key: the ledger lets it make only
	// ingestion's calls (launches, heartbeats, quotes).
	ServiceKey = "dev-service-key"
	// ReportingKey is reporting's service key: balances from the ledger.
	ReportingKey = "dev-reporting-key"
	LauncherKey  = "dev-launcher-design"
	// GatewayKey launches for every team of the demo organisation.
	GatewayKey = "dev-launcher-gateway"
	DemoOrg    = "demo"
	// UserHashKey keys the dev stack's pseudonyms: public, so dev only.
	UserHashKey = "dev-user-hash-key"
)

// Keys returns the dev keyring of one service: only the keys that call it.
func Keys(service string) string {
	people := fmt.Sprintf("%s:%s:admin,%s:%s:owner", AdminKey, DemoOrg, OwnerKey, DemoOrg)
	launchers := fmt.Sprintf("%s:%s:launcher:design,dev-launcher-civil:%s:launcher:civil,%s:%s:launcher:*",
		LauncherKey, DemoOrg, DemoOrg, GatewayKey, DemoOrg)
	switch service {
	case "ledger":
		return fmt.Sprintf("%s,%s,%s:*:service:ingestion,%s:*:service:reporting", people, launchers, ServiceKey, ReportingKey)
	case "ingestion":
		return people + "," + launchers
	}
	return people
}

// APIKeys is every dev key, for a process that runs all four services with
// one keyring.
func APIKeys() string { return Keys("ledger") }

// Options say where the stack's pieces are.
type Options struct {
	NATSURL string
	// NATSCreds holds each service's NATS credentials file by natsauth
	// identity ("ledger", "ingestion", "reporting", "alerting").
	NATSCreds          map[string]string
	ClickHouseAddr     string
	ClickHouseDatabase string
	// Listen addresses; ":0" picks free ports.
	IngestionListen, LedgerListen, ReportingListen, AlertingListen string
	// IngestionHTTPListen opens ingestion's HTTP/JSON door ("" keeps it closed).
	IngestionHTTPListen string
	// ConsoleListen opens reporting's web console ("" keeps it closed).
	ConsoleListen string
	// TLS of every listener and every call between the services (zero: plaintext).
	TLS certs.Files
	// Now is the server clock of ledger and ingestion (nil: wall clock).
	Now func() time.Time
	Log *slog.Logger
	// Mail is the SMTP server alerting and reporting send e-mail through
	// (zero: no e-mail endpoints, no report schedules).
	Mail email.Config
	// Reporting adjusts the reporting service's configuration before it
	// starts (console single sign-on in tests); nil: the defaults.
	Reporting func(*reporting.Config)
	// ResetStaleProjections drops the ClickHouse database and projects again
	// when it holds projections of another event log (a new NATS store): for
	// demo data only. Without it Start refuses, as the reporting service does.
	ResetStaleProjections bool
}

// Stack is the four running services.
type Stack struct {
	Ledger    *ledger.Service
	Ingestion *ingestion.Service
	Reporting *reporting.Service
	Alerting  *alerting.Service

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// defaults fills a service config from its own flag defaults, so the stack
// runs with exactly what a binary without flags would.
func defaults(register func(*flag.FlagSet)) {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	register(fs)
	_ = fs.Parse(nil)
}

func common(c *config.Common, o Options, identity, listen string) {
	c.NATSURL, c.APIKeys, c.Listen, c.TLS = o.NATSURL, Keys(identity), listen, o.TLS
	c.NATSCreds = o.NATSCreds[identity]
}

// Start builds and runs the services until ctx ends; Wait returns when all
// stopped. When one fails to start, those already running are stopped first.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stack{cancel: cancel}
	defer func() {
		if err != nil {
			cancel()
			s.wg.Wait()
		}
	}()
	var lc ledger.Config
	defaults(lc.Register)
	common(&lc.Common, o, "ledger", o.LedgerListen)
	lc.Now, lc.UserHashKey = o.Now, UserHashKey
	if s.Ledger, err = ledger.New(ctx, lc, o.Log.With("service", "ledger")); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	s.run(ctx, "ledger", s.Ledger.Run)

	var ic ingestion.Config
	defaults(ic.Register)
	common(&ic.Common, o, "ingestion", o.IngestionListen)
	ic.LedgerAddr, ic.LedgerAPIKey, ic.Now = s.Ledger.Addr(), ServiceKey, o.Now
	ic.HTTPListen = o.IngestionHTTPListen
	if s.Ingestion, err = ingestion.New(ctx, ic, o.Log.With("service", "ingestion")); err != nil {
		return nil, fmt.Errorf("ingestion: %w", err)
	}
	s.run(ctx, "ingestion", s.Ingestion.Run)

	var ac alerting.Config
	defaults(ac.Register)
	common(&ac.Common, o, "alerting", o.AlertingListen)
	// A dev stack's webhooks go to receivers on this machine.
	ac.WebhookAllow = "127.0.0.1,::1,localhost"
	ac.UserHashKey = UserHashKey
	ac.Mail = o.Mail
	if s.Alerting, err = alerting.New(ctx, ac, o.Log.With("service", "alerting")); err != nil {
		return nil, fmt.Errorf("alerting: %w", err)
	}
	s.run(ctx, "alerting", s.Alerting.Run)

	var rc reporting.Config
	defaults(rc.Register)
	common(&rc.Common, o, "reporting", o.ReportingListen)
	rc.ClickHouseAddr, rc.ClickHouseDatabase = o.ClickHouseAddr, o.ClickHouseDatabase
	rc.LedgerAddr, rc.LedgerAPIKey = s.Ledger.Addr(), ReportingKey
	rc.ConsoleListen, rc.AlertingAddr, rc.IngestionAddr = o.ConsoleListen, s.Alerting.Addr(), s.Ingestion.Addr()
	rc.UserHashKey = UserHashKey
	rc.Mail.SMTP = o.Mail
	rc.Subscriptions = "REVIT=2910:Revit,ACAD=1975:AutoCAD,CIVIL3D=2910:Civil 3D,3DSMAX=1975:3ds Max"
	if o.Reporting != nil {
		o.Reporting(&rc)
	}
	if s.Reporting, err = startReporting(ctx, rc, o); err != nil {
		return nil, fmt.Errorf("reporting: %w", err)
	}
	s.run(ctx, "reporting", s.Reporting.Run)

	return s, nil
}

// startReporting starts reporting, first dropping its database once if the
// stack may start stale projections over.
func startReporting(ctx context.Context, rc reporting.Config, o Options) (*reporting.Service, error) {
	log := o.Log.With("service", "reporting")
	svc, err := reporting.New(ctx, rc, log)
	if !errors.Is(err, reporting.ErrLogReset) || !o.ResetStaleProjections {
		return svc, err
	}
	o.Log.Warn("ClickHouse database " + rc.ClickHouseDatabase + " holds projections of an older event log; " +
		"dropping it and projecting the new log (dev stack, demo data only)")
	if err := dropDatabase(ctx, rc); err != nil {
		return nil, err
	}
	return reporting.New(ctx, rc, log)
}

func (s *Stack) run(ctx context.Context, name string, run func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := run(ctx); err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("%s: %w", name, err))
			s.mu.Unlock()
		}
	}()
}

// Wait blocks until every service has stopped and joins their errors.
func (s *Stack) Wait() error {
	s.wg.Wait()
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}
