package e2e

import (
	"context"
	"flag"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
	"github.com/tokenmeter/tokenmeter/services/ledger"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// stoppable is a service run on its own context, so a test can stop it
// mid-run and start it again on the same address.
type stoppable struct {
	cancel context.CancelFunc
	done   chan error
}

func (s *stoppable) stop(t testing.TB) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("service did not stop")
	}
}

func startLedger(t testing.TB, natsURL, addr string, now func() time.Time) *stoppable {
	t.Helper()
	var cfg ledger.Config
	flagDefaults(cfg.Register)
	cfg.NATSURL, cfg.APIKeys, cfg.Listen, cfg.Now = natsURL, devstack.APIKeys(), addr, now
	// As ingestion's: the benchmarks fund a thousand teams with the admin key.
	cfg.RateLimit = 0
	cfg.NATSCreds = testkit.Creds(t, natsURL, "ledger")
	cfg.ShutdownTimeout, cfg.UserHashKey = 5*time.Second, testkit.UserHashKey
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := ledger.New(ctx, cfg, testkit.FailureLog(t))
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	s := &stoppable{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- svc.Run(ctx) }()
	return s
}

func startIngestion(t testing.TB, natsURL, ledgerAddr string, now func() time.Time) *ingestion.Service {
	t.Helper()
	var cfg ingestion.Config
	flagDefaults(cfg.Register)
	cfg.NATSURL, cfg.APIKeys, cfg.Listen, cfg.HTTPListen = natsURL, devstack.APIKeys(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.NATSCreds = testkit.Creds(t, natsURL, "ingestion")
	cfg.LedgerAddr, cfg.LedgerAPIKey, cfg.Now, cfg.RateLimit = ledgerAddr, devstack.ServiceKey, now, 0
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := ingestion.New(ctx, cfg, testkit.FailureLog(t))
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return svc
}

func flagDefaults(register func(*flag.FlagSet)) {
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	register(fs)
	_ = fs.Parse(nil)
}

// ledgerHandle is a ledger the test stops and starts again on one address.
type ledgerHandle struct {
	t       testing.TB
	nats    string
	addr    string
	now     func() time.Time
	current *stoppable
}

func (h *ledgerHandle) stop() {
	if h.current != nil {
		h.current.stop(h.t)
		h.current = nil
	}
}

func (h *ledgerHandle) start() { h.current = startLedger(h.t, h.nats, h.addr, h.now) }

// ledgerAndIngestion runs a ledger that the test may stop and restart, and
// an ingestion replica with its HTTP door, on embedded NATS with a fake clock.
func ledgerAndIngestion(t testing.TB) (*ledgerHandle, *ingestion.Service, *clock) {
	t.Helper()
	natsURL, _ := testkit.NATS(t)
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	led := &ledgerHandle{t: t, nats: natsURL, addr: loopbackAddr(t), now: clk.Now}
	led.start()
	t.Cleanup(led.stop)
	return led, startIngestion(t, natsURL, led.addr, clk.Now), clk
}

// jetStream connects to natsURL as identity.
func jetStream(t testing.TB, natsURL, identity string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, identity)...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// Set moves the fake clock to at, never backwards.
func (c *clock) Set(at time.Time) {
	c.mu.Lock()
	if at.After(c.now) {
		c.now = at
	}
	c.mu.Unlock()
}

func loopbackAddr(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = lis.Close() }()
	return lis.Addr().String()
}
