// Package ledger runs the ledger service: it owns the token pools, decides
// every charge and keeps its state only in the JetStream event log.
package ledger

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/access"
	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/keystore"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	sharedring "github.com/tokenmeter/tokenmeter/libs/ring"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/balance"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/ring"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/server"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/store"
)

// Config is the ledger's configuration.
type Config struct {
	config.Common
	StreamReplicas int
	// Partitions is how many LEDGER partition streams new pools spread over
	// (1: the one LEDGER stream); pools already placed stay where they are.
	Partitions    int
	SnapshotEvery int
	IdleTimeout   time.Duration
	SweepInterval time.Duration
	// AppendTimeout bounds each append to the log (0: store.DefaultAppendTimeout).
	AppendTimeout time.Duration
	// BalanceInterval is how often the ring's first replica evens out the
	// partition streams' leaders over the NATS nodes (0: never).
	BalanceInterval time.Duration
	// ReplicaID names this replica in the ring; AdvertiseAddr is where the
	// others reach it; PeerAPIKey (or the file PeerAPIKeyFile, reread on
	// SIGHUP) is the service key it forwards with (neither: no ring, every
	// replica decides every pool it is asked about).
	ReplicaID      string
	AdvertiseAddr  string
	PeerAPIKey     string
	PeerAPIKeyFile string
	// UserHashKey keys the pseudonyms of organisations that do not show personal data.
	UserHashKey string
	// Now is the clock (tests pass a fake one); nil means the wall clock.
	Now func() time.Time
}

// Register adds the ledger's flags to fs.
func (c *Config) Register(fs *flag.FlagSet) {
	c.Common.Register(fs, "127.0.0.1:7071")
	fs.IntVar(&c.StreamReplicas, "stream-replicas", 1, "JetStream replicas of the streams this service provisions (3 in a cluster)")
	fs.IntVar(&c.Partitions, "partitions", 1, fmt.Sprintf("LEDGER partition streams new pools are placed in, by a hash of organisation and team (1: the one LEDGER stream; at most %d); a pool keeps its partition when this changes", subject.MaxPartitions))
	fs.IntVar(&c.SnapshotEvery, "snapshot-every", 1000, "write a pool snapshot every N of its events, or every half as many as the answers it remembers when that is more, up to 10N (0: never)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 15*time.Minute, "a session idle this long at its window's end is not renewed until active again")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", time.Minute, "how often expired packs of idle pools are recorded")
	fs.DurationVar(&c.AppendTimeout, "append-timeout", store.DefaultAppendTimeout, "how long a decision waits for JetStream to store its event before answering Unavailable (the caller retries with the same event id)")
	fs.DurationVar(&c.BalanceInterval, "balance-interval", time.Minute, "how often the ring's first replica moves one partition stream's leader to the NATS node leading fewest, when the nodes differ by more than one (0: never; at most 24h)")
	fs.StringVar(&c.ReplicaID, "replica-id", "", "this replica's name in the ring (default: host name and pid)")
	fs.StringVar(&c.AdvertiseAddr, "advertise-addr", "", "gRPC address other replicas reach this one at (default: the listen address)")
	fs.StringVar(&c.PeerAPIKey, "peer-api-key", "", "service api key replicas forward to each other with; empty disables pool ownership")
	fs.StringVar(&c.PeerAPIKeyFile, "peer-api-key-file", "", "file holding -peer-api-key, reread on SIGHUP or when it changes")
	privacy.RegisterKey(fs, &c.UserHashKey)
}

// Validate joins every problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.Common.Validate(), privacy.CheckKey(c.UserHashKey))
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		errs = append(errs, fmt.Errorf("stream-replicas %d: want 1 to 5", c.StreamReplicas))
	}
	if c.Partitions < 1 || c.Partitions > subject.MaxPartitions {
		errs = append(errs, fmt.Errorf("partitions %d: want 1 to %d", c.Partitions, subject.MaxPartitions))
	}
	if c.SnapshotEvery < 0 {
		errs = append(errs, fmt.Errorf("snapshot-every %d: want 0 or more", c.SnapshotEvery))
	}
	if c.AppendTimeout < 0 {
		errs = append(errs, fmt.Errorf("append-timeout %s: want a positive duration", c.AppendTimeout))
	}
	if c.BalanceInterval < 0 || c.BalanceInterval > 24*time.Hour {
		errs = append(errs, fmt.Errorf("balance-interval %s: want 0 (never) to 24h", c.BalanceInterval))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("idle-timeout %s: want a positive duration", c.IdleTimeout))
	}
	return errors.Join(errs...)
}

// Service is a running ledger replica.
type Service struct {
	cfg       Config
	log       *slog.Logger
	nc        *nats.Conn
	grpc      *grpcserver.Server
	catalogs  *store.Catalogs
	settings  *privacy.Settings
	announcer *ring.Announcer
	forwarder *ring.Forwarder
	store     *store.Store
	balancer  *balance.Balancer
}

// New connects to NATS, provisions the LEDGER stream and listens for gRPC.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Service, err error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := privacy.CheckKey(cfg.UserHashKey); err != nil {
		return nil, err
	}
	keys, err := cfg.Keyring(ctx, log)
	if err != nil {
		return nil, err
	}
	serverTLS, err := cfg.ServerTLS()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	var js jetstream.JetStream
	if s.nc, js, err = cfg.ConnectNATS(ctx, natsauth.Ledger, log, eventlog.Streams{
		Options: eventlog.StreamOptions{Replicas: cfg.StreamReplicas, Partitions: cfg.Partitions},
		Own:     eventlog.LedgerStreams(cfg.Partitions),
	}); err != nil {
		return nil, err
	}
	if s.store, err = openStore(ctx, js, cfg, log); err != nil {
		return nil, err
	}
	if s.catalogs, err = store.WatchCatalogs(ctx, js, log); err != nil {
		return nil, err
	}
	if s.settings, err = privacy.Follow(ctx, js); err != nil {
		return nil, err
	}
	personKeys, err := privacy.OpenPersonKeys(ctx, js, cfg.UserHashKey, cfg.StreamReplicas)
	if err != nil {
		return nil, err
	}
	if s.grpc, err = grpcserver.Listen(grpcserver.Options{
		Listen: cfg.Listen, Log: log, TLS: serverTLS,
		Auth: auth.Authorizer{Keys: keys, Policy: access.Policy, Throttle: cfg.Throttle()},
	}); err != nil {
		return nil, err
	}
	if cfg.PeerAPIKey != "" || cfg.PeerAPIKeyFile != "" {
		if err := s.joinRing(ctx, js); err != nil {
			return nil, err
		}
	}
	v1.RegisterLedgerServiceServer(s.grpc, &server.Ledger{
		Store:    s.store,
		Catalogs: s.catalogs, JS: js, Now: cfg.Now, IdleTimeout: cfg.IdleTimeout, Forwarder: s.forwarder,
		Settings: s.settings, Privacy: privacy.New(cfg.UserHashKey, s.settings), PersonKeys: personKeys,
	})
	s.balancer = balance.New(js, s.forwarder.First, log)
	keystore.Follow(ctx, js, keystore.People, keys, log)   // people's access keys, made through ingestion
	keystore.Follow(ctx, js, keystore.Sessions, keys, log) // console sessions' keys, made by reporting
	return s, nil
}

// openStore opens the pools' store with the placements and snapshots it
// finds and starts them from.
func openStore(ctx context.Context, js jetstream.JetStream, cfg Config, log *slog.Logger) (*store.Store, error) {
	placement, err := store.OpenPlacement(ctx, js, cfg.Partitions, cfg.StreamReplicas)
	if err != nil {
		return nil, err
	}
	snaps, err := store.OpenSnapshots(ctx, js, cfg.StreamReplicas)
	if err != nil {
		return nil, err
	}
	return store.New(js, log).WithPlacement(placement).WithSnapshots(snaps, uint64(cfg.SnapshotEvery)).WithAppendTimeout(cfg.AppendTimeout), nil
}

// joinRing announces this replica and builds the forwarder to the others.
func (s *Service) joinRing(ctx context.Context, js jetstream.JetStream) error {
	key, err := config.CallerKey(ctx, s.log, "peer-api-key", s.cfg.PeerAPIKey, s.cfg.PeerAPIKeyFile)
	if err != nil {
		return err
	}
	id := s.cfg.ReplicaID
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	addr := s.cfg.AdvertiseAddr
	if addr == "" {
		addr = advertised(s.grpc.Addr())
	}
	interval := sharedring.AnnounceInterval
	r := ring.New(id, sharedring.StaleAfter, s.cfg.Now)
	a, err := ring.OpenAnnouncer(ctx, js, r, ring.Member{ID: id, Addr: addr, Seen: s.cfg.Now()}, interval, s.cfg.StreamReplicas, s.log)
	if err != nil {
		return err
	}
	clientTLS, err := s.cfg.ClientTLS()
	if err != nil {
		return err
	}
	s.announcer, s.forwarder = a, ring.NewForwarder(r, key, clientTLS)
	s.log.Info("joined the ledger ring", "replica", id, "addr", addr)
	return nil
}

// advertised turns a listen address into one peers can dial: a wildcard host
// becomes loopback (set -advertise-addr across machines).
func advertised(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Replicas is how many ledger replicas this one sees live (1 without a ring).
func (s *Service) Replicas() int {
	if s.forwarder == nil {
		return 1
	}
	return s.forwarder.Live()
}

// Forwarded counts the decisions this replica sent to a pool's owner.
func (s *Service) Forwarded() int64 { return s.forwarder.Forwarded() }

// Addr is the gRPC address listened on.
func (s *Service) Addr() string { return s.grpc.Addr() }

// Run serves until ctx ends, then shuts down: health NOT_SERVING, calls in
// flight finish, the catalog watcher stops, NATS drains.
func (s *Service) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve() }()
	ringDone := make(chan struct{})
	ringCtx, leaveRing := context.WithCancel(ctx)
	defer leaveRing()
	go func() {
		defer close(ringDone)
		if s.announcer != nil {
			_ = s.announcer.Run(ringCtx)
		}
	}()
	defer s.chores(ringCtx)()
	s.log.Info("ledger serving", "addr", s.Addr())
	select {
	case err := <-errc:
		leaveRing()
		<-ringDone
		s.close()
		return err
	case <-ctx.Done():
	}
	// Leave the ring first so the others take this replica's pools while calls
	// in flight here finish.
	s.grpc.NotServing()
	leaveRing()
	<-ringDone
	s.grpc.ShutdownWithin(s.cfg.StopWithin())
	s.close()
	return nil
}

// chores runs the replica's periodic work (the expiry sweep, the leaders'
// balance) until ctx ends; the function returned waits for them to stop.
func (s *Service) chores(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() { s.sweep(ctx) })
	wg.Go(func() {
		if s.cfg.BalanceInterval > 0 {
			s.balancer.Run(ctx, s.cfg.BalanceInterval)
		}
	})
	return wg.Wait
}

// sweep records due pack expiries of the pools this replica owns, every
// SweepInterval, until ctx ends.
func (s *Service) sweep(ctx context.Context) {
	if s.cfg.SweepInterval <= 0 {
		return
	}
	tick := time.NewTicker(s.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			n, err := s.store.Sweep(ctx, s.cfg.Now(), s.forwarder.Owns)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("expiry sweep", "err", err)
			} else if n > 0 {
				s.log.Info("expiry sweep recorded expired packs", "packs", n)
			}
		}
	}
}

func (s *Service) close() {
	if s.grpc != nil {
		s.grpc.Stop()
	}
	if s.store != nil {
		s.store.WaitSnapshots()
		s.store.Close()
	}
	s.forwarder.Close()
	if s.catalogs != nil {
		s.catalogs.Stop()
	}
	if s.settings != nil {
		s.settings.Stop()
	}
	if err := config.DrainNATS(s.nc, s.cfg.StopWithin()); err != nil {
		s.log.Warn("stop", "err", err)
	}
}
