// Package ingestion runs the launcher API: stateless, it authenticates
// launchers, validates, stamps receipt time, asks the ledger, records the raw
// event and answers — over gRPC and over HTTP/JSON.
package ingestion

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/access"
	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/outage"
	"github.com/tokenmeter/tokenmeter/libs/rolegrant"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion/internal/httpapi"
	"github.com/tokenmeter/tokenmeter/services/ingestion/internal/keys"
	"github.com/tokenmeter/tokenmeter/services/ingestion/internal/launch"
	"github.com/tokenmeter/tokenmeter/services/ingestion/internal/ledgers"
)

// Config is ingestion's configuration.
type Config struct {
	config.Common
	HTTPListen   string
	LedgerAddr   string
	LedgerAPIKey string
	// LedgerAPIKeyFile holds LedgerAPIKey instead, reread on SIGHUP.
	LedgerAPIKeyFile string
	// LedgerRing sends each pool's calls to the ledger replica that owns it,
	// following the replicas in NATS; LedgerAddr serves while none is known.
	LedgerRing    bool
	MaxClockSkew  time.Duration
	AppendTimeout time.Duration
	// LedgerTimeout bounds a ledger call: past it the launch is answered
	// Unavailable, to be retried with its event id (0: 3s).
	LedgerTimeout time.Duration
	Replicas      int
	// Partitions is how many USAGE partition streams a team's telemetry
	// goes to, by a hash of organisation and team (1: the one USAGE stream).
	Partitions int
	// LedgerBatch is how many concurrent launches go to the ledger in one
	// AuthorizeBatch call at most (0: 128; negative: one Authorize call
	// each); LedgerCalls how many such calls per organisation may be in
	// flight (0: 2).
	LedgerBatch int
	LedgerCalls int
	// MaxInFlight is how many launcher calls are worked on at once (0:
	// 1024); as many more wait at most QueueTimeout (0: 250ms), and the
	// rest are refused at once with ResourceExhausted.
	MaxInFlight  int
	QueueTimeout time.Duration
	Now          func() time.Time
}

// Register adds ingestion's flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "127.0.0.1:7070")
	fs.StringVar(&c.HTTPListen, "http-listen", "", "HTTP/JSON listen address, e.g. 127.0.0.1:7080 (:0 picks a free port; empty: gRPC only)")
	fs.StringVar(&c.LedgerAddr, "ledger-addr", "127.0.0.1:7071", "ledger gRPC address (with -ledger-ring: used while no replica is known)")
	fs.BoolVar(&c.LedgerRing, "ledger-ring", false, "send each pool's calls to the ledger replica that owns it, following the replicas announced in NATS (LEDGER_MEMBERS), and retry an unavailable owner's calls once on another")
	fs.StringVar(&c.LedgerAPIKey, "ledger-api-key", "", "service api key ingestion presents to the ledger")
	fs.StringVar(&c.LedgerAPIKeyFile, "ledger-api-key-file", "", "file holding -ledger-api-key, reread on SIGHUP or when it changes")
	fs.DurationVar(&c.MaxClockSkew, "max-clock-skew", 24*time.Hour, "refuse live events whose client time is further than this from the server's")
	fs.DurationVar(&c.AppendTimeout, "append-timeout", time.Second, "how long to wait for JetStream to store an event before answering Unavailable")
	fs.DurationVar(&c.LedgerTimeout, "ledger-timeout", defaultLedgerTimeout, "how long to wait for the ledger's decision before answering Unavailable (retry with the same event id; the ledger may still decide it, once)")
	fs.IntVar(&c.Replicas, "replicas", 1, "JetStream replicas of the launcher key bucket")
	fs.IntVar(&c.Partitions, "partitions", 1, fmt.Sprintf("USAGE partition streams telemetry is spread over, by a hash of organisation and team (1: the one USAGE stream; at most %d); after a change a team's new telemetry goes to its new partition", subject.MaxPartitions))
	fs.IntVar(&c.LedgerBatch, "ledger-batch", defaultLedgerBatch, "concurrent launches sent to the ledger in one AuthorizeBatch call at most (-1: one Authorize call each)")
	fs.IntVar(&c.LedgerCalls, "ledger-calls", defaultLedgerCalls, "batched ledger calls in flight per organisation")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", defaultMaxInFlight, "launcher calls worked on at once; as many more may wait, the rest are refused (ResourceExhausted)")
	fs.DurationVar(&c.QueueTimeout, "queue-timeout", defaultQueueTimeout, "how long a launcher call may wait for a free slot before it is refused")
}

// Validate joins every problem with the configuration.
func (c *Config) Validate() error {
	errs := []error{c.Common.Validate(), c.CheckListen("http-listen", c.HTTPListen)}
	if c.LedgerAddr == "" {
		errs = append(errs, config.Required("ledger-addr"))
	}
	if c.LedgerAPIKey == "" && c.LedgerAPIKeyFile == "" {
		errs = append(errs, config.Required("ledger-api-key"))
	}
	if c.Partitions < 1 || c.Partitions > subject.MaxPartitions {
		errs = append(errs, fmt.Errorf("partitions %d: want 1 to %d", c.Partitions, subject.MaxPartitions))
	}
	if c.LedgerBatch > 1000 {
		errs = append(errs, fmt.Errorf("ledger-batch %d: want at most 1000", c.LedgerBatch))
	}
	if c.LedgerCalls < 0 {
		errs = append(errs, fmt.Errorf("ledger-calls %d: want 1 or more", c.LedgerCalls))
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("max-in-flight %d: want 1 or more", c.MaxInFlight))
	}
	if c.LedgerTimeout < 0 || c.LedgerTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("ledger-timeout %s: want 0 to 1m", c.LedgerTimeout))
	}
	if c.QueueTimeout < 0 {
		errs = append(errs, fmt.Errorf("queue-timeout %s: want 0 or more", c.QueueTimeout))
	}
	return errors.Join(errs...)
}

const (
	defaultLedgerBatch = 128
	defaultLedgerCalls = 2
	// A launch takes a few milliseconds: 1024 at once keep two ledger
	// calls per organisation full, and a launch that cannot start within
	// 250 ms is better retried than queued behind thousands more.
	defaultMaxInFlight  = 1024
	defaultQueueTimeout = 250 * time.Millisecond
	// defaultLedgerTimeout bounds a ledger call; each launch in a batch is
	// bounded by its own caller's deadline as well. A few seconds: the
	// ledger answers Unavailable itself once the log fails it (about
	// -append-timeout), and waits longer only while a stream elects a leader.
	defaultLedgerTimeout = 3 * time.Second
)

// Service is a running ingestion instance.
type Service struct {
	cfg    Config
	log    *slog.Logger
	nc     *nats.Conn
	ledger *grpc.ClientConn
	keys   []*keystore.Watcher
	grpc   *grpcserver.Server
	http   *httpapi.Server
	// ledgerState logs the ledger connection's losses and recoveries.
	ledgerState *outage.Tracker
	// ring follows the ledger replicas (nil without -ledger-ring).
	ring *ledgers.Ring
	js   jetstream.JetStream
}

// api is IngestionService: the launcher calls and the admins' key calls.
type api struct {
	*launch.Server
	*keys.Admin
}

// New connects to NATS and the ledger, loads the launcher keys and listens
// for gRPC and HTTP. ctx bounds the key watch as well: pass the run context.
func New(ctx context.Context, cfg Config, log *slog.Logger) (svc *Service, err error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ring, err := cfg.Keyring(ctx, log)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	nc, js, err := cfg.ConnectNATS(ctx, natsauth.Ingestion, log, eventlog.Streams{
		Options: eventlog.StreamOptions{Replicas: cfg.Replicas, Partitions: cfg.Partitions}, Own: eventlog.UsageStreams(cfg.Partitions),
	})
	if err != nil {
		return nil, err
	}
	s.nc, s.js = nc, js
	store, err := keystore.Open(ctx, js, keystore.Launchers, cfg.Replicas)
	if err != nil {
		return nil, err
	}
	people, err := keystore.Open(ctx, js, keystore.People, cfg.Replicas)
	if err != nil {
		return nil, err
	}
	grants, err := rolegrant.Open(ctx, js, cfg.Replicas)
	if err != nil {
		return nil, err
	}
	for _, st := range []*keystore.Store{store, people} {
		w, err := keystore.Watch(ctx, st.KV(), st.Kind(), ring, log)
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, w)
	}
	keystore.Follow(ctx, js, keystore.Sessions, ring, log) // console sessions' keys, made by reporting
	serverTLS, err := cfg.ServerTLS()
	if err != nil {
		return nil, err
	}
	clientTLS, err := cfg.ClientTLS()
	if err != nil {
		return nil, err
	}
	ledgerKey, err := config.CallerKey(ctx, log, "ledger-api-key", cfg.LedgerAPIKey, cfg.LedgerAPIKeyFile)
	if err != nil {
		return nil, err
	}
	if s.ledger, err = grpcserver.DialKey(cfg.LedgerAddr, ledgerKey, clientTLS); err != nil {
		return nil, err
	}
	s.ledgerState = outage.New(log.With("ledger", cfg.LedgerAddr), "ledger unreachable", "ledger reachable again")
	if s.grpc, err = grpcserver.Listen(grpcserver.Options{Listen: cfg.Listen, Log: log, TLS: serverTLS,
		Auth: auth.Authorizer{Keys: ring, Policy: access.Policy, Throttle: cfg.Throttle()}}); err != nil {
		return nil, err
	}
	var ledger launch.Ledgers = launch.One{Replica: launch.NewReplica(launch.SeedID, v1.NewLedgerServiceClient(s.ledger))}
	ledgers.Zero()
	if cfg.LedgerRing {
		s.ring = ledgers.New(v1.NewLedgerServiceClient(s.ledger), func(addr string) (*grpc.ClientConn, error) {
			return grpcserver.DialKey(addr, ledgerKey, clientTLS)
		}, cfg.Now, log)
		ledger = s.ring
	}
	var coalescer *launch.Coalescer
	ledgerTimeout := cmp.Or(cfg.LedgerTimeout, defaultLedgerTimeout)
	if cfg.LedgerBatch >= 0 {
		batch, calls := cmp.Or(cfg.LedgerBatch, defaultLedgerBatch), cmp.Or(cfg.LedgerCalls, defaultLedgerCalls)
		coalescer = launch.NewCoalescer(ledger, batch, calls, ledgerTimeout)
	}
	v1.RegisterIngestionServiceServer(s.grpc, api{
		Server: &launch.Server{
			Ledger: ledger, JS: js, Now: cfg.Now, MaxSkew: cfg.MaxClockSkew,
			AppendTimeout: cfg.AppendTimeout, LedgerTimeout: ledgerTimeout, Partitions: cfg.Partitions,
			Coalescer: coalescer,
			Limit:     launch.NewLimiter(cmp.Or(cfg.MaxInFlight, defaultMaxInFlight), cmp.Or(cfg.QueueTimeout, defaultQueueTimeout)),
		},
		Admin: &keys.Admin{Store: store, People: people, Grants: grants, Ring: ring, Now: cfg.Now},
	})
	if cfg.HTTPListen != "" {
		if s.http, err = httpapi.Listen(ctx, cfg.HTTPListen, serverTLS, s.grpc.InProcess()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Addr is the gRPC address listened on.
func (s *Service) Addr() string { return s.grpc.Addr() }

// HTTPAddr is the HTTP/JSON address listened on ("" when the door is off).
func (s *Service) HTTPAddr() string {
	if s.http == nil {
		return ""
	}
	return s.http.Addr()
}

// Run serves until ctx ends, then shuts down gracefully: the HTTP door
// first (its calls run the gRPC service's handlers), then gRPC, then the
// adapters.
func (s *Service) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve() }()
	if s.http != nil {
		go func() { errc <- s.http.Serve() }()
	}
	s.log.Info("ingestion serving", "addr", s.Addr(), "http", s.HTTPAddr(), "ledger", s.cfg.LedgerAddr)
	go watchLedger(ctx, s.ledger, s.ledgerState)
	ringCtx, stopRing := context.WithCancel(ctx)
	ringDone := make(chan struct{})
	go func() {
		defer close(ringDone)
		if s.ring != nil {
			s.ring.Run(ringCtx, s.js)
		}
	}()
	defer func() { stopRing(); <-ringDone }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	s.grpc.NotServing()
	if s.http != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StopWithin())
		s.http.Shutdown(hctx)
		cancel()
	}
	s.grpc.ShutdownWithin(s.cfg.StopWithin())
	s.close()
	return err
}

func (s *Service) close() {
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StopWithin())
		s.http.Shutdown(ctx)
		cancel()
	}
	if s.grpc != nil {
		s.grpc.Stop()
	}
	for _, w := range s.keys {
		w.Stop()
	}
	if s.ledger != nil {
		_ = s.ledger.Close()
	}
	if err := config.DrainNATS(s.nc, s.cfg.StopWithin()); err != nil {
		s.log.Warn("stop", "err", err)
	}
}

// LedgerReplicas lists the ledger replicas ingestion sends to by pool (none
// without -ledger-ring).
func (s *Service) LedgerReplicas() []string {
	if s.ring == nil {
		return nil
	}
	return s.ring.Replicas()
}
