package testkit

import (
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// natsSeeds maps a server's client URL (and a cluster's joined URLs) to the
// directory holding the seeds of its users.
var natsSeeds sync.Map // string -> string

func rememberSeeds(t testing.TB, dir string, urls ...string) {
	for _, u := range urls {
		natsSeeds.Store(u, dir)
	}
	t.Cleanup(func() {
		for _, u := range urls {
			natsSeeds.Delete(u)
		}
	})
}

// Creds returns the nkey seed file of identity (a natsauth name: "ledger",
// "ingestion", "reporting", "alerting", "admin", "reader") on the server or
// cluster at url, which NATS, NATSCluster or RestartNATS started.
func Creds(t testing.TB, url, identity string) string {
	t.Helper()
	if !natsauth.Known(identity) {
		t.Fatalf("testkit: unknown NATS identity %q, want one of %v", identity, natsauth.Names())
	}
	v, ok := natsSeeds.Load(url)
	if !ok {
		// One URL of a cluster's list reaches the cluster.
		first, _, _ := strings.Cut(url, ",")
		if v, ok = natsSeeds.Load(first); !ok {
			t.Fatalf("testkit: no NATS server of this test listens at %s", url)
		}
	}
	return natsauth.SeedFile(v.(string), identity)
}

// Client is how a service connects to the server at url as identity.
func Client(t testing.TB, url, identity string) natsauth.Client {
	t.Helper()
	return natsauth.Client{URL: url, Identity: identity, Creds: Creds(t, url, identity)}
}

// Connect dials the server at url as identity, with extra options; the
// connection closes when the test ends.
func Connect(t testing.TB, url, identity string, extra ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := connect(t, url, identity, extra...)
	if err != nil {
		t.Fatalf("testkit: connect to NATS as %s: %v", identity, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func connect(t testing.TB, url, identity string, extra ...nats.Option) (*nats.Conn, error) {
	t.Helper()
	opts, err := Client(t, url, identity).Options()
	if err != nil {
		return nil, err
	}
	return nats.Connect(url, append(opts, extra...)...)
}

// Options are the nats.Connect options that authenticate as identity on the
// server at url: nats.Connect(url, testkit.Options(t, url, "ledger")...).
func Options(t testing.TB, url, identity string) []nats.Option {
	t.Helper()
	opts, err := Client(t, url, identity).Options()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return opts
}

// AllCreds maps every identity to its seed file on the server at url, as
// devstack.Options.NATSCreds takes them.
func AllCreds(t testing.TB, url string) map[string]string {
	t.Helper()
	creds := make(map[string]string)
	for _, name := range natsauth.Names() {
		creds[name] = Creds(t, url, name)
	}
	return creds
}

// UserHashKey is the -user-hash-key of services started by tests.
const UserHashKey = "testkit-user-hash-key"
