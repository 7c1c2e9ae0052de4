package deploycheck

import (
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
)

func withPort(hosts []string, port int) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, fmt.Sprintf("%s:%d", h, port))
	}
	return out
}

// TestClusterNATS: each of the three servers runs the rendered cluster.conf
// (with auth.conf) under its own name, routes to every server of the
// StatefulSet with the route password from its Secret, keeps JetStream on its
// own volume, and the services list every server.
func TestClusterNATS(t *testing.T) {
	objs := render(t, clusterLayout.dir)
	w := workloadNamed(t, objs, "nats")
	require.Equal(t, "StatefulSet", w.Kind)
	requireHeadless(t, objs, w, 4222, 6222)
	c := w.Pod.Containers[0]
	i := slices.Index(c.Args, "--config")
	require.True(t, i >= 0 && i+1 < len(c.Args), "nats: no --config argument")
	conf := c.Args[i+1]
	dir := t.TempDir()
	for name, data := range mountedConfigMap(t, objs, w, path.Dir(conf)) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600))
	}
	setNkeys(t) // the envFrom of Secret tokenmeter-nats-secrets
	hosts := podHosts(w)
	for _, host := range hosts {
		pod, _, _ := strings.Cut(host, ".")
		for k, v := range podEnv(t, c, pod) {
			t.Setenv(k, v)
		}
		opts, err := server.ProcessConfigFile(filepath.Join(dir, path.Base(conf)))
		require.NoError(t, err, "%s: %s", pod, conf)
		require.Equal(t, pod, opts.ServerName)
		require.True(t, opts.JetStream, pod)
		requireOnClaim(t, w, opts.StoreDir)
		require.Equal(t, "secret-TOKENMETER_NATS_ROUTE_PASSWORD", opts.Cluster.Password, "%s: the route password from the Secret", pod)
		var routes []string
		for _, r := range opts.Routes {
			routes = append(routes, r.Host)
			pw, _ := r.User.Password()
			require.Equal(t, opts.Cluster.Username, r.User.Username(), "%s: route %s", pod, r.Host)
			require.Equal(t, opts.Cluster.Password, pw, "%s: route %s", pod, r.Host)
		}
		require.ElementsMatch(t, withPort(hosts, 6222), routes, "%s: routes to every server", pod)
	}
	require.ElementsMatch(t, withPort(hosts, 4222), hostsOf(sharedEnv(t, objs)["TOKENMETER_NATS_URL"]),
		"TOKENMETER_NATS_URL lists every server")
}

// requireOnClaim: dir is on one of the StatefulSet's persistent volumes.
func requireOnClaim(t *testing.T, w workload, dir string) {
	t.Helper()
	for _, m := range w.Pod.Containers[0].VolumeMounts {
		if slices.Contains(w.Claims, m.Name) && strings.HasPrefix(path.Clean(dir)+"/", path.Clean(m.MountPath)+"/") {
			return
		}
	}
	t.Fatalf("%s keeps %s on no volume claim %v", w.Name, dir, w.Claims)
}

// fromEnv is a ClickHouse setting, given or taken from the environment.
type fromEnv struct {
	Env   string `xml:"from_env,attr"`
	Value string `xml:",chardata"`
}

func (f fromEnv) resolve(t *testing.T, env map[string]string) string {
	t.Helper()
	if f.Env == "" {
		return strings.TrimSpace(f.Value)
	}
	v, ok := env[f.Env]
	require.True(t, ok, "from_env %s is not set", f.Env)
	return v
}

type chNode struct {
	Host string `xml:"host"`
	Port int    `xml:"port"`
}

func (n chNode) String() string { return fmt.Sprintf("%s:%d", n.Host, n.Port) }

type chConfig struct {
	Macros struct {
		Shard   fromEnv `xml:"shard"`
		Replica fromEnv `xml:"replica"`
	} `xml:"macros"`
	RemoteServers struct {
		Clusters []struct {
			XMLName xml.Name
			Secret  fromEnv `xml:"secret"`
			Shards  []struct {
				InternalReplication bool     `xml:"internal_replication"`
				Replicas            []chNode `xml:"replica"`
			} `xml:"shard"`
		} `xml:",any"`
	} `xml:"remote_servers"`
	ZooKeeper []chNode `xml:"zookeeper>node"`
}

var fromEnvAttr = regexp.MustCompile(`from_env="([^"]+)"`)

// chNodes: every ClickHouse pod, with the shard and replica its macros resolve
// to; every node runs one configuration, which it returns.
func chNodes(t *testing.T, objs []object) (chConfig, map[string][]string) {
	t.Helper()
	var conf string
	var cfg chConfig
	shards, seen := map[string][]string{}, map[[2]string]string{}
	for _, w := range workloads(t, objs) {
		if w.PodLabels["app.kubernetes.io/name"] != "clickhouse" {
			continue
		}
		requireHeadless(t, objs, w, 9000, 9009)
		files := mountedConfigMap(t, objs, w, "/etc/clickhouse-server/config.d")
		users := mountedConfigMap(t, objs, w, "/etc/clickhouse-server/users.d")
		require.Len(t, files, 1, "%s: config.d", w.Name)
		for _, data := range files {
			if conf == "" {
				conf = data
				require.NoError(t, xml.Unmarshal([]byte(data), &cfg))
			}
			require.Equal(t, conf, data, "%s: every node runs the same configuration", w.Name)
		}
		for _, host := range podHosts(w) {
			pod, _, _ := strings.Cut(host, ".")
			env := podEnv(t, w.Pod.Containers[0], pod)
			for _, data := range append(slices.Collect(maps.Values(files)), slices.Collect(maps.Values(users))...) {
				for _, m := range fromEnvAttr.FindAllStringSubmatch(data, -1) {
					require.Contains(t, env, m[1], "%s: from_env %s", pod, m[1])
				}
			}
			requireUsersHavePasswords(t, pod, users, env)
			key := [2]string{cfg.Macros.Shard.resolve(t, env), cfg.Macros.Replica.resolve(t, env)}
			require.True(t, key[0] != "" && key[1] != "", "%s: macros {shard} {replica} %q", pod, key)
			require.Empty(t, seen[key], "%s and %s have the same macros {shard} {replica} %q", pod, seen[key], key)
			seen[key] = pod
			shards[key[0]] = append(shards[key[0]], host+":9000")
		}
	}
	require.NotEmpty(t, shards, "no ClickHouse pods")
	return cfg, shards
}

// requireUsersHavePasswords: users.d removes the password-less default user
// and gives every user a password (or its hash) from a Secret.
func requireUsersHavePasswords(t *testing.T, pod string, users, env map[string]string) {
	t.Helper()
	for name, data := range users {
		var doc struct {
			Users struct {
				List []struct {
					XMLName xml.Name
					Remove  string   `xml:"remove,attr"`
					Plain   *fromEnv `xml:"password"`
					SHA256  *fromEnv `xml:"password_sha256_hex"`
				} `xml:",any"`
			} `xml:"users"`
		}
		require.NoError(t, xml.Unmarshal([]byte(data), &doc), name)
		removed := false
		for _, u := range doc.Users.List {
			if u.Remove != "" {
				removed = removed || u.XMLName.Local == "default"
				continue
			}
			pw := u.Plain
			if pw == nil {
				pw = u.SHA256
			}
			require.NotNil(t, pw, "%s: user %s has no password", pod, u.XMLName.Local)
			require.True(t, strings.HasPrefix(pw.resolve(t, env), "secret-"), "%s: user %s's password is not from a Secret", pod, u.XMLName.Local)
		}
		require.True(t, removed, "%s: %s keeps the password-less default user", pod, name)
	}
}

// TestClusterClickHouse: every node's macros are unique per (shard,
// replica); the cluster reporting names lists each shard's replicas as one
// <shard>, by the names the headless Services give them; nodes find ZooKeeper's
// servers, which know each other; reporting's address reaches the nodes.
func TestClusterClickHouse(t *testing.T) {
	objs := render(t, clusterLayout.dir)
	cfg, shards := chNodes(t, objs)
	env := sharedEnv(t, objs)
	name := env["TOKENMETER_CLICKHOUSE_CLUSTER"]
	require.NotEmpty(t, name, "TOKENMETER_CLICKHOUSE_CLUSTER")
	i := slices.IndexFunc(cfg.RemoteServers.Clusters, func(c struct {
		XMLName xml.Name
		Secret  fromEnv `xml:"secret"`
		Shards  []struct {
			InternalReplication bool     `xml:"internal_replication"`
			Replicas            []chNode `xml:"replica"`
		} `xml:"shard"`
	}) bool {
		return c.XMLName.Local == name
	})
	require.GreaterOrEqual(t, i, 0, "remote_servers has no cluster %s", name)
	cluster := cfg.RemoteServers.Clusters[i]
	require.NotEmpty(t, cluster.Secret.Env, "cluster %s: nodes authenticate each other's queries with a secret", name)
	want, got := []string{}, []string{}
	for _, hosts := range shards {
		sort.Strings(hosts)
		want = append(want, strings.Join(hosts, " "))
	}
	for _, s := range cluster.Shards {
		require.True(t, s.InternalReplication, "cluster %s: a shard's replicas replicate themselves", name)
		var hosts []string
		for _, r := range s.Replicas {
			hosts = append(hosts, r.String())
		}
		sort.Strings(hosts)
		got = append(got, strings.Join(hosts, " "))
	}
	require.ElementsMatch(t, want, got, "cluster %s: one <shard> per {shard} macro, listing its nodes", name)

	zk := workloadNamed(t, objs, "zookeeper")
	requireHeadless(t, objs, zk, 2181, 2888, 3888)
	var nodes, servers []string
	for _, n := range cfg.ZooKeeper {
		nodes = append(nodes, n.String())
	}
	require.ElementsMatch(t, withPort(podHosts(zk), 2181), nodes, "ClickHouse's <zookeeper> lists every server")
	for i, host := range podHosts(zk) {
		servers = append(servers, fmt.Sprintf("server.%d=%s:2888:3888;2181", i+1, host))
	}
	require.Equal(t, servers, strings.Fields(podEnv(t, zk.Pod.Containers[0], zk.Name+"-0")["ZOO_SERVERS"]),
		"ZOO_SERVERS: server.<ordinal+1> for every pod")

	svc, port, _ := strings.Cut(env["TOKENMETER_CLICKHOUSE_ADDR"], ":")
	require.Equal(t, "9000", port, "TOKENMETER_CLICKHOUSE_ADDR")
	requireServiceSelects(t, objs, svc, map[string]string{"app.kubernetes.io/name": "clickhouse"}, 9000)
}

// requireServiceSelects: Service name sends port to pods labelled so.
func requireServiceSelects(t *testing.T, objs []object, name string, labels map[string]string, port int) {
	t.Helper()
	for _, o := range objs {
		if o.Kind == "Service" && o.Metadata.Name == name {
			var spec struct {
				Selector map[string]string `yaml:"selector"`
				Ports    []struct {
					Port int `yaml:"port"`
				} `yaml:"ports"`
			}
			require.NoError(t, o.Spec.Decode(&spec))
			require.True(t, matches(t, selector{MatchLabels: spec.Selector}, labels), "Service %s selects %v", name, spec.Selector)
			require.NotEmpty(t, spec.Ports)
			require.Equal(t, port, spec.Ports[0].Port, "Service %s", name)
			return
		}
	}
	t.Fatalf("no Service %s", name)
}
