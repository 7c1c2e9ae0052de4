package deploycheck

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// freePort is a loopback port no one listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestClusterConfFormsJetStreamCluster: three servers run from the shipped
// cluster.conf (as the clustered Kubernetes layout runs it), each given its
// name and the three route URLs as the StatefulSet gives them, form one
// JetStream cluster that holds an R3 stream.
func TestClusterConfFormsJetStreamCluster(t *testing.T) {
	seeds := setNkeys(t)
	t.Setenv("TOKENMETER_NATS_ROUTE_PASSWORD", "0123456789abcdef")
	ports := []int{freePort(t), freePort(t), freePort(t)}
	for i, p := range ports {
		t.Setenv(fmt.Sprintf("TOKENMETER_NATS_ROUTE_%d", i), fmt.Sprintf("nats-route://route:0123456789abcdef@127.0.0.1:%d", p))
	}
	var servers []*server.Server
	for i, p := range ports {
		t.Setenv("NATS_SERVER_NAME", fmt.Sprintf("nats-%d", i))
		opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy/nats/cluster.conf"))
		require.NoError(t, err)
		opts.Host, opts.Port, opts.HTTPPort, opts.StoreDir, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, 0, t.TempDir(), true, true
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", p
		srv, err := server.NewServer(opts)
		require.NoError(t, err)
		go srv.Start()
		t.Cleanup(srv.Shutdown)
		servers = append(servers, srv)
	}
	for _, srv := range servers {
		require.True(t, srv.ReadyForConnections(10*time.Second))
	}
	require.Eventually(t, func() bool {
		for _, srv := range servers {
			if srv.NumRoutes() < 2 || !srv.JetStreamIsClustered() {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "the three servers route to each other")

	c := natsauth.Client{URL: servers[0].ClientURL(), Identity: natsauth.Admin, Creds: natsauth.SeedFile(seeds, natsauth.Admin)}
	auth, err := c.Options()
	require.NoError(t, err)
	nc, err := nats.Connect(c.URL, auth...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "R3CHECK", Subjects: []string{"r3check.>"}, Replicas: 3})
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "an R3 stream on the cluster")
	_, err = js.Publish(t.Context(), "r3check.a", []byte("x"))
	require.NoError(t, err)
	info, err := js.Stream(t.Context(), "R3CHECK")
	require.NoError(t, err)
	cluster := info.CachedInfo().Cluster
	require.Equal(t, "tokenmeter", cluster.Name)
	require.Len(t, cluster.Replicas, 2, "the leader and two replicas")
}
