package testkit

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// NATSCluster starts n embedded JetStream-enabled NATS servers on 127.0.0.1
// routed into one cluster, each with its store in t.TempDir(), and returns
// once a stream replicated on all n can be made. They shut down when the test
// ends. It returns the client URLs, comma-separated (as nats.Connect takes
// them).
func NATSCluster(t testing.TB, n int) string {
	t.Helper()
	return NATSClusterWith(t, n, NATSConfig{})
}

// NATSClusterWith is NATSCluster with the settings of c on every server.
func NATSClusterWith(t testing.TB, n int, c NATSConfig) string {
	t.Helper()
	urls, _ := natsCluster(t, n, c)
	return urls
}

// NATSClusterNodes is NATSCluster that also returns the servers (named
// tm-0, tm-1, …), so a test can shut one down.
func NATSClusterNodes(t testing.TB, n int) (string, []*server.Server) {
	t.Helper()
	return natsCluster(t, n, NATSConfig{})
}

func natsCluster(t testing.TB, n int, c NATSConfig) (string, []*server.Server) {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ports[i] = freePort(t)
	}
	// Routes authenticate too: a server without the password cannot join.
	routePass := randomHex(16)
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = fmt.Sprintf("nats-route://route:%s@127.0.0.1:%d", routePass, p)
	}
	base, dir := serverOptions(t)
	c.apply(&base)
	urls, servers := make([]string, n), make([]*server.Server, n)
	for i := range n {
		opts := base
		opts.StoreDir = t.TempDir()
		opts.ServerName = fmt.Sprintf("tm-%d", i)
		opts.Cluster = server.ClusterOpts{
			Name: "tokenmeter-test", Host: "127.0.0.1", Port: ports[i],
			Username: "route", Password: routePass,
		}
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		urls[i], servers[i] = startNATS(t, opts)
	}
	all := strings.Join(urls, ",")
	rememberSeeds(t, dir, append(urls, all)...)
	waitForReplicas(t, all, n)
	return all, servers
}

// waitForReplicas waits until the cluster can place a stream on all n
// servers: a meta leader is elected as soon as a majority has joined, and a
// replicated stream made before the last server joined would be refused.
func waitForReplicas(t testing.TB, urls string, n int) {
	t.Helper()
	nc, err := connect(t, urls, natsauth.Admin)
	if err != nil {
		t.Fatalf("testkit: connect to the cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("testkit: jetstream: %v", err)
	}
	probe := jetstream.StreamConfig{Name: "TESTKIT_PROBE", Subjects: []string{"testkit.probe"}, Replicas: n, Storage: jetstream.MemoryStorage}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.CreateStream(ctx, probe)
		if err == nil {
			err = js.DeleteStream(ctx, probe.Name)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testkit: the NATS cluster cannot place a stream on %d servers after 30 s: %v", n, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the cluster's formation, not synchronising the test
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
