package config

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/natsauth/embedded"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// A service reaches a TLS-only NATS with its identity's seed and the common
// TLS files; without the CA it refuses the server, without the seed the
// server refuses it.
func TestConnectNATSOverTLSAsIdentity(t *testing.T) {
	files := testkit.Certs(t)
	serverTLS, err := certs.Files{Cert: files.Cert, Key: files.Key}.Server()
	require.NoError(t, err)
	seeds := t.TempDir()
	pubs, err := natsauth.WriteSeeds(seeds, natsauth.Ledger)
	require.NoError(t, err)
	users, err := embedded.Users(pubs)
	require.NoError(t, err)
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, TLS: true, TLSConfig: serverTLS, TLSTimeout: 2}
	embedded.Secure(opts, users)
	srv, err := server.NewServer(opts)
	require.NoError(t, err)
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	require.True(t, srv.ReadyForConnections(10*time.Second))
	url := fmt.Sprintf("tls://127.0.0.1:%d", srv.Addr().(*net.TCPAddr).Port)
	log := slog.New(slog.DiscardHandler)

	c := Common{NATSURL: url, NATSCreds: natsauth.SeedFile(seeds, natsauth.Ledger), TLS: certs.Files{CA: files.CA}}
	nc, _, err := c.ConnectNATS(t.Context(), natsauth.Ledger, log, eventlog.Streams{})
	require.NoError(t, err)
	require.True(t, nc.TLSRequired())
	nc.Close()

	c.TLS.CA = files.OtherCA
	_, _, err = c.ConnectNATS(t.Context(), natsauth.Ledger, log, eventlog.Streams{})
	require.ErrorContains(t, err, "certificate")

	c.TLS.CA, c.NATSCreds = files.CA, ""
	_, _, err = c.ConnectNATS(t.Context(), natsauth.Ledger, log, eventlog.Streams{})
	require.ErrorIs(t, err, nats.ErrAuthorization)
}
