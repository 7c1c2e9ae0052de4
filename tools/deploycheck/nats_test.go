package deploycheck

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// The shipped authorization is what libs/natsauth renders (generated equals
// source, as with proto): `go run ./tools/cmd/natsauth conf > deploy/nats/auth.conf`.
func TestNATSAuthConfIsGenerated(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(repoRoot, "deploy/nats/auth.conf"))
	require.NoError(t, err)
	require.Equal(t, natsauth.Conf(), string(shipped),
		"deploy/nats/auth.conf is stale: run `go run ./tools/cmd/natsauth conf > deploy/nats/auth.conf`")
}

// setNkeys makes seeds in a temporary directory and puts their public keys
// in the environment, as deploy/README.md says to; it returns the directory.
func setNkeys(t *testing.T) string {
	dir := t.TempDir()
	pubs, err := natsauth.WriteSeeds(dir, natsauth.Names()...)
	require.NoError(t, err)
	for name, pub := range pubs {
		t.Setenv(natsauth.NkeyEnv(name), pub)
	}
	return dir
}

// Both shipped configs admit exactly natsauth's users, with their permissions,
// and the cluster's routes need the route password.
func TestNATSConfigsAuthenticateEveryone(t *testing.T) {
	setNkeys(t)
	t.Setenv("NATS_SERVER_NAME", "nats-0")
	t.Setenv("TOKENMETER_NATS_ROUTE_PASSWORD", "route-secret")
	for _, n := range []string{"0", "1", "2"} {
		t.Setenv("TOKENMETER_NATS_ROUTE_"+n, "nats-route://route:route-secret@nats-"+n+":6222")
	}
	for _, file := range []string{"nats.conf", "cluster.conf"} {
		opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy/nats", file))
		require.NoError(t, err, file)
		require.Len(t, opts.Nkeys, len(natsauth.Names()), file)
		require.Empty(t, opts.Users, file)
		require.Empty(t, opts.NoAuthUser, file)
		for _, u := range opts.Nkeys {
			name := nameOf(t, u.Nkey)
			want := natsauth.PermissionsOf(name)
			require.Equal(t, want.Publish, u.Permissions.Publish.Allow, "%s: %s", file, name)
			require.Equal(t, want.Subscribe, u.Permissions.Subscribe.Allow, "%s: %s", file, name)
		}
		if file == "cluster.conf" {
			require.Equal(t, "route", opts.Cluster.Username)
			require.Equal(t, "route-secret", opts.Cluster.Password)
			require.Len(t, opts.Routes, 3)
		}
	}
}

func nameOf(t *testing.T, pub string) string {
	for _, name := range natsauth.Names() {
		if os.Getenv(natsauth.NkeyEnv(name)) == pub {
			return name
		}
	}
	t.Fatalf("user %.12s… is none of natsauth's identities", pub)
	return ""
}

// A server run from the shipped nats.conf refuses anonymous clients and lets
// the reporting identity read but not append money events.
func TestNATSConfRefusesAnonymousAndEnforcesPermissions(t *testing.T) {
	seeds := setNkeys(t)
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy/nats/nats.conf"))
	require.NoError(t, err)
	opts.Host, opts.Port, opts.HTTPPort, opts.StoreDir, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, 0, t.TempDir(), true, true
	srv, err := server.NewServer(opts)
	require.NoError(t, err)
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	require.True(t, srv.ReadyForConnections(10*time.Second))

	_, err = nats.Connect(srv.ClientURL())
	require.ErrorIs(t, err, nats.ErrAuthorization)

	c := natsauth.Client{URL: srv.ClientURL(), Identity: natsauth.Reporting, Creds: natsauth.SeedFile(seeds, natsauth.Reporting)}
	auth, err := c.Options()
	require.NoError(t, err)
	violations := make(chan error, 1)
	nc, err := nats.Connect(c.URL, append(auth, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case violations <- err:
		default:
		}
	}))...)
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.Publish("ledger.acme.design", []byte("forged")))
	require.NoError(t, nc.Flush())
	require.ErrorIs(t, <-violations, nats.ErrPermissionViolation)
}
