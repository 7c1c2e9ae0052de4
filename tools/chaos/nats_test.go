package chaos

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// natsServers configures nats-server (cfg.natsNodes of them) with
// JetStream, a store that outlives its restarts, and one nkey user per
// identity with libs/natsauth's permissions (the shipped auth.conf, its
// keys from the environment). Several nodes form one cluster over routes
// that authenticate with a password of their own, as deploy/nats/cluster.conf.
func (s *stack) natsServers(bin string) []*proc {
	t := s.t
	pubs, err := natsauth.WriteSeeds(s.seeds, natsauth.Names()...)
	require.NoError(t, err)
	var env []string
	for name, pub := range pubs {
		env = append(env, natsauth.NkeyEnv(name)+"="+pub)
	}
	n := max(s.cfg.natsNodes, 1)
	clients, routes := make([]string, n), make([]string, n)
	for i := range n {
		clients[i], routes[i] = freeAddr(t), freeAddr(t)
	}
	cluster := clusterConf(routes)
	var nodes []*proc
	var urls []string
	for i, addr := range clients {
		p := &proc{name: "nats", bin: filepath.Join(bin, "nats-server"), env: env, addr: addr}
		_, port, _ := strings.Cut(addr, ":")
		conf := fmt.Sprintf("host: 127.0.0.1\nport: %s\nmax_payload: 1MB\n", port)
		if n == 1 {
			conf += "server_name: chaos\n"
		} else {
			// A node is ready when its JetStream is current (/healthz on
			// its loopback monitoring port), not when it accepts clients.
			monitor := freeAddr(t)
			p.name, p.health = fmt.Sprintf("nats-%d", i), "http://"+monitor+"/healthz"
			conf += fmt.Sprintf("server_name: %s\nhttp: %q\n%s", p.name, monitor, cluster(i))
		}
		dir := t.TempDir()
		conf += fmt.Sprintf("jetstream { store_dir: %q }\n%s", filepath.Join(dir, "store"), natsauth.Conf())
		path := filepath.Join(dir, "nats.conf")
		require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
		p.args = []string{"-c", path}
		nodes, urls = append(nodes, p), append(urls, "nats://"+addr)
	}
	s.natsURL = strings.Join(urls, ",")
	return nodes
}

// clusterConf is node i's cluster block: its route port, the route user
// and every node's route (the one to itself is ignored).
func clusterConf(routes []string) func(i int) string {
	password := rand.Text()
	var urls []string
	for _, r := range routes {
		urls = append(urls, fmt.Sprintf("%q", "nats-route://route:"+password+"@"+r))
	}
	return func(i int) string {
		_, port, _ := strings.Cut(routes[i], ":")
		return fmt.Sprintf("cluster {\n name: chaos\n host: 127.0.0.1\n port: %s\n"+
			" authorization { user: route, password: %q }\n routes: [%s]\n}\n", port, password, strings.Join(urls, ", "))
	}
}
