package deploycheck

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pdb is a rendered PodDisruptionBudget.
type pdb struct {
	Name string
	Spec struct {
		MaxUnavailable any      `yaml:"maxUnavailable"`
		MinAvailable   any      `yaml:"minAvailable"`
		Selector       selector `yaml:"selector"`
	}
}

func pdbs(t *testing.T, objs []object) []pdb {
	t.Helper()
	var out []pdb
	for _, o := range objs {
		if o.Kind == "PodDisruptionBudget" {
			b := pdb{Name: o.Metadata.Name}
			require.NoError(t, o.Spec.Decode(&b.Spec), b.Name)
			out = append(out, b)
		}
	}
	return out
}

// TestDisruptionBudgets: every workload of two replicas or more has one
// budget, letting one pod go at a time (a quorum of three keeps two), and
// every budget guards the pods of exactly one workload.
func TestDisruptionBudgets(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		ws := workloads(t, objs)
		budgets := pdbs(t, objs)
		for _, b := range budgets {
			require.NotEmpty(t, b.Spec.Selector.MatchLabels, "PDB %s selects every pod", b.Name)
			require.Nil(t, b.Spec.MinAvailable, "PDB %s: give maxUnavailable, which holds whatever the replicas", b.Name)
			require.Equal(t, "1", fmt.Sprint(b.Spec.MaxUnavailable), "PDB %s: maxUnavailable", b.Name)
			var guarded []string
			for _, w := range ws {
				if matches(t, b.Spec.Selector, w.PodLabels) {
					guarded = append(guarded, w.Name)
				}
			}
			require.Len(t, guarded, 1, "PDB %s guards the pods of %v", b.Name, guarded)
		}
		for _, w := range ws {
			if w.Replicas < 2 {
				continue
			}
			n := 0
			for _, b := range budgets {
				if matches(t, b.Spec.Selector, w.PodLabels) {
					n++
				}
			}
			require.Equal(t, 1, n, "%s %s (%d replicas): PodDisruptionBudgets selecting its pods", w.Kind, w.Name, w.Replicas)
		}
	})
}

// TestClusterReplicas: the clustered layout runs every service but alerting
// (one writer of its rule state) twice, three NATS and ZooKeeper servers and
// two shards of two ClickHouse replicas, each quorum or shard spread over nodes.
func TestClusterReplicas(t *testing.T) {
	ws := workloads(t, render(t, clusterLayout.dir))
	byName := map[string]workload{}
	shards := 0
	for _, w := range ws {
		byName[w.Name] = w
		if w.PodLabels["app.kubernetes.io/name"] == "clickhouse" {
			shards++
			require.Equal(t, 2, w.Replicas, "ClickHouse shard %s: replicas", w.Name)
			requireSpreadOverNodes(t, w)
		}
	}
	require.Equal(t, 2, shards, "ClickHouse shards")
	for _, name := range []string{"ledger", "ingestion", "reporting"} {
		require.GreaterOrEqual(t, byName[name].Replicas, 2, name)
	}
	require.Equal(t, 1, byName["alerting"].Replicas, "alerting")
	for _, name := range []string{"nats", "zookeeper"} {
		require.Equal(t, "StatefulSet", byName[name].Kind, name)
		require.Equal(t, 3, byName[name].Replicas, name)
		requireSpreadOverNodes(t, byName[name])
	}
}

// requireSpreadOverNodes: no two pods of w share a node.
func requireSpreadOverNodes(t *testing.T, w workload) {
	t.Helper()
	a := w.Pod.Affinity
	require.True(t, a != nil && a.PodAntiAffinity != nil, "%s: no pod anti-affinity", w.Name)
	spread := slices.ContainsFunc(a.PodAntiAffinity.Required, func(term struct {
		TopologyKey   string   `yaml:"topologyKey"`
		LabelSelector selector `yaml:"labelSelector"`
	}) bool {
		return term.TopologyKey == "kubernetes.io/hostname" && matches(t, term.LabelSelector, w.PodLabels)
	})
	require.True(t, spread, "%s: no required anti-affinity of its pods on kubernetes.io/hostname", w.Name)
}

// workloadNamed is the one workload called name.
func workloadNamed(t *testing.T, objs []object, name string) workload {
	t.Helper()
	for _, w := range workloads(t, objs) {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("no workload %s", name)
	return workload{}
}

// podHosts are the stable names of a StatefulSet's pods, in ordinal order.
func podHosts(w workload) []string {
	var hosts []string
	for i := range w.Replicas {
		hosts = append(hosts, fmt.Sprintf("%s-%d.%s", w.Name, i, w.ServiceName))
	}
	return hosts
}

// requireHeadless: the StatefulSet's serviceName is a headless Service that
// selects its pods and publishes them before they are ready (peers find each
// other while starting) on the given ports.
func requireHeadless(t *testing.T, objs []object, w workload, ports ...int) {
	t.Helper()
	for _, o := range objs {
		if o.Kind != "Service" || o.Metadata.Name != w.ServiceName {
			continue
		}
		var spec struct {
			ClusterIP                string            `yaml:"clusterIP"`
			PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
			Selector                 map[string]string `yaml:"selector"`
			Ports                    []struct {
				Port int `yaml:"port"`
			} `yaml:"ports"`
		}
		require.NoError(t, o.Spec.Decode(&spec))
		require.Equal(t, "None", spec.ClusterIP, "Service %s", o.Metadata.Name)
		require.True(t, spec.PublishNotReadyAddresses, "Service %s", o.Metadata.Name)
		require.True(t, matches(t, selector{MatchLabels: spec.Selector}, w.PodLabels), "Service %s does not select %s's pods", o.Metadata.Name, w.Name)
		for _, port := range ports {
			require.True(t, slices.ContainsFunc(spec.Ports, func(p struct {
				Port int `yaml:"port"`
			}) bool {
				return p.Port == port
			}), "Service %s: port %d", o.Metadata.Name, port)
		}
		return
	}
	t.Fatalf("%s: no Service %s", w.Name, w.ServiceName)
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// podEnv is the environment of container c in pod podName as the kubelet
// makes it: Secret values stand in as "secret-<key>", $(VAR) expanded from the
// variables before it.
func podEnv(t *testing.T, c container, podName string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			v = "secret-" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			require.Equal(t, "metadata.name", e.ValueFrom.FieldRef.FieldPath, "%s of %s", e.Name, podName)
			v = podName
		}
		env[e.Name] = envRef.ReplaceAllStringFunc(v, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			val, ok := env[name]
			require.True(t, ok, "%s of %s refers to $(%s), not set before it", e.Name, podName, name)
			return val
		})
	}
	return env
}

// mountedConfigMap is the data of the ConfigMap mounted at dir in w's first container.
func mountedConfigMap(t *testing.T, objs []object, w workload, dir string) map[string]string {
	t.Helper()
	for _, m := range w.Pod.Containers[0].VolumeMounts {
		if path.Clean(m.MountPath) != path.Clean(dir) {
			continue
		}
		for _, v := range w.Pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				for _, o := range objs {
					if o.Kind == "ConfigMap" && o.Metadata.Name == v.ConfigMap.Name {
						return o.Data
					}
				}
				t.Fatalf("%s mounts ConfigMap %s, which the layout lacks", w.Name, v.ConfigMap.Name)
			}
		}
	}
	t.Fatalf("%s mounts no ConfigMap at %s", w.Name, dir)
	return nil
}

func hostsOf(urls string) []string {
	var hosts []string
	for _, u := range strings.Split(urls, ",") {
		_, rest, _ := strings.Cut(strings.TrimSpace(u), "://")
		hosts = append(hosts, rest)
	}
	return hosts
}
