package testkit

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/natsauth/embedded"
)

const natsReadyTimeout = 10 * time.Second

// natsOptions remembers the options each server was started with, so RestartNATS can
// bring it back on the same port with the same store.
var natsOptions sync.Map // *server.Server -> server.Options

// NATS starts an embedded JetStream-enabled NATS server on a random 127.0.0.1 port, as
// nats-server's own RunBasicJetStreamServer does, with its store in t.TempDir(). The
// server shuts down when the test ends. It returns the client URL and the server.
//
// The server has the users of libs/natsauth, with the production permissions, and
// refuses anonymous clients: connect with Connect, Client or Creds as the identity
// the test plays.
func NATS(t testing.TB) (url string, srv *server.Server) {
	t.Helper()
	return NATSWith(t, NATSConfig{})
}

// NATSConfig is what a test server sets beyond NATS's defaults.
type NATSConfig struct {
	// SyncAlways makes JetStream fsync every write before it acknowledges it
	// (nats-server's `jetstream { sync_interval: always }`); by default it
	// writes each message to the OS at once and fsyncs every 2 minutes.
	SyncAlways bool
}

// NATSWith is NATS with the settings of c.
func NATSWith(t testing.TB, c NATSConfig) (url string, srv *server.Server) {
	t.Helper()
	opts, dir := serverOptions(t)
	c.apply(&opts)
	url, srv = startNATS(t, opts)
	rememberSeeds(t, dir, url)
	return url, srv
}

func (c NATSConfig) apply(opts *server.Options) {
	opts.SyncAlways = c.SyncAlways
}

// serverOptions are a test server's: 127.0.0.1, a random port, JetStream
// with its store in t.TempDir(), quiet, and a user per natsauth identity
// whose seed is in the returned directory.
func serverOptions(t testing.TB) (server.Options, string) {
	dir := t.TempDir()
	pubs, err := natsauth.WriteSeeds(dir, natsauth.Names()...)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	users, err := embedded.Users(pubs)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	opts := server.Options{
		Host:                  "127.0.0.1",
		Port:                  -1,
		JetStream:             true,
		StoreDir:              t.TempDir(),
		NoLog:                 true,
		NoSigs:                true,
		MaxControlLine:        4096,
		DisableShortFirstPing: true,
	}
	embedded.Secure(&opts, users)
	return opts, dir
}

// RestartNATS shuts srv down and starts a new server with the same options, port and
// JetStream store, as a crash and restart would. Clients connected to the old server
// reconnect to the new one at the same URL. srv must come from NATS or RestartNATS.
func RestartNATS(t testing.TB, srv *server.Server) (url string, restarted *server.Server) {
	t.Helper()
	return StopNATS(t, srv)()
}

// StopNATS shuts srv down, as an outage would, and returns the function that
// brings it back on the same port with the same store (RestartNATS in two steps).
func StopNATS(t testing.TB, srv *server.Server) (start func() (url string, restarted *server.Server)) {
	t.Helper()
	v, ok := natsOptions.Load(srv)
	if !ok {
		t.Fatalf("testkit: StopNATS: server was not started by testkit.NATS")
	}
	opts := v.(server.Options)
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("testkit: StopNATS: server has no TCP address")
	}
	opts.Port = addr.Port
	srv.Shutdown()
	srv.WaitForShutdown()
	natsOptions.Delete(srv)
	return func() (string, *server.Server) {
		t.Helper()
		return startNATS(t, opts)
	}
}

func startNATS(t testing.TB, opts server.Options) (string, *server.Server) {
	t.Helper()
	// The server may rewrite the options it is given; keep our copy pristine.
	run := opts
	srv, err := server.NewServer(&run)
	if err != nil {
		t.Fatalf("testkit: new NATS server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		t.Fatalf("testkit: NATS server not ready for connections within %s", natsReadyTimeout)
	}
	if opts.JetStream {
		// JetStream keeps its files in <StoreDir>/jetstream; restart from the same root.
		if cfg := srv.JetStreamConfig(); cfg != nil {
			opts.StoreDir = filepath.Dir(cfg.StoreDir)
		}
	}
	natsOptions.Store(srv, opts)
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
		natsOptions.Delete(srv)
	})
	return srv.ClientURL(), srv
}
