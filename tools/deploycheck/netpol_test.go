package deploycheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The pods the manifests do not create, labelled as their installers label
// them (deploy/README.md, "Running in production", states the assumption).
var (
	tokenmeterLabels = map[string]string{"app.kubernetes.io/part-of": "tokenmeter"}
	// The official NATS Helm chart (nats-io/k8s), release "nats".
	natsLabels = map[string]string{"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats", "app.kubernetes.io/component": "nats"}
	// The Altinity ClickHouse operator labels every server pod it creates so.
	clickhouseLabels = map[string]string{"clickhouse.altinity.com/app": "chop"}
	// The OpenTelemetry collector Helm chart (open-telemetry/opentelemetry-helm-charts).
	collectorLabels = map[string]string{"app.kubernetes.io/name": "opentelemetry-collector"}
)

// publicPorts are the doors launchers and browsers use, through the ingress.
var publicPorts = map[int]bool{7070: true, 7080: true, 7074: true}

type selector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []yaml.Node       `yaml:"matchExpressions"`
}

type peer struct {
	PodSelector       *selector `yaml:"podSelector"`
	NamespaceSelector *selector `yaml:"namespaceSelector"`
	IPBlock           *struct {
		CIDR string `yaml:"cidr"`
	} `yaml:"ipBlock"`
}

type ingressRule struct {
	From  []peer `yaml:"from"`
	Ports []struct {
		Port    yaml.Node `yaml:"port"`
		EndPort int       `yaml:"endPort"`
	} `yaml:"ports"`
}

type policy struct {
	Name string
	Spec struct {
		PodSelector selector      `yaml:"podSelector"`
		PolicyTypes []string      `yaml:"policyTypes"`
		Ingress     []ingressRule `yaml:"ingress"`
	}
}

func policies(t *testing.T, objs []object) []policy {
	t.Helper()
	var ps []policy
	for _, o := range objs {
		if o.Kind != "NetworkPolicy" {
			continue
		}
		p := policy{Name: o.Metadata.Name}
		require.NoError(t, o.Spec.Decode(&p.Spec), o.Metadata.Name)
		if len(p.Spec.PolicyTypes) == 0 {
			p.Spec.PolicyTypes = []string{"Ingress"}
		}
		ps = append(ps, p)
	}
	return ps
}

// matches says whether sel selects labels; this check supports matchLabels only.
func matches(t *testing.T, sel selector, labels map[string]string) bool {
	t.Helper()
	require.Empty(t, sel.MatchExpressions, "deploycheck understands matchLabels only")
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func covers(t *testing.T, r ingressRule, port int) bool {
	t.Helper()
	if len(r.Ports) == 0 {
		return true
	}
	for _, p := range r.Ports {
		n, err := strconv.Atoi(p.Port.Value)
		require.NoError(t, err, "deploycheck understands numeric ports only, got %q", p.Port.Value)
		if n == port || (p.EndPort > 0 && n <= port && port <= p.EndPort) {
			return true
		}
	}
	return false
}

// source says whether a rule's peer is one a port may be reached from.
type source struct {
	name  string
	admit func(t *testing.T, p peer) bool
}

// podsOf admits same-namespace pods that carry at least labels.
func podsOf(name string, labels map[string]string) source {
	return source{name, func(t *testing.T, p peer) bool {
		return p.IPBlock == nil && p.NamespaceSelector == nil && p.PodSelector != nil &&
			len(p.PodSelector.MatchLabels) > 0 && matches(t, selector{MatchLabels: labels}, p.PodSelector.MatchLabels)
	}}
}

// oneNamespace admits pods of namespaces picked by label (the ingress
// controller's, the ClickHouse operator's), never every namespace.
func oneNamespace(name string) source {
	return source{name, func(t *testing.T, p peer) bool {
		return p.IPBlock == nil && p.NamespaceSelector != nil && len(p.NamespaceSelector.MatchLabels) > 0
	}}
}

var (
	fromTokenmeter = podsOf("tokenmeter pods", tokenmeterLabels)
	fromIngress    = oneNamespace("the ingress controller's namespace")
	fromMonitoring = oneNamespace("the monitoring namespace")
	// The console (in the reporting pods) manages access keys through ingestion's gRPC.
	fromConsole = podsOf("the console's reporting pods", map[string]string{"app.kubernetes.io/name": "reporting", "app.kubernetes.io/part-of": "tokenmeter"})
)

// requireOnlyFrom: some rule opens port on the pods labelled so, and every
// rule that opens it admits only the given sources.
func requireOnlyFrom(t *testing.T, ps []policy, what string, labels map[string]string, port int, allowed ...source) {
	t.Helper()
	var names []string
	for _, s := range allowed {
		names = append(names, s.name)
	}
	opened := false
	for _, p := range ps {
		if !slices.Contains(p.Spec.PolicyTypes, "Ingress") || !matches(t, p.Spec.PodSelector, labels) {
			continue
		}
		for _, r := range p.Spec.Ingress {
			if !covers(t, r, port) {
				continue
			}
			require.NotEmpty(t, r.From, "NetworkPolicy %s opens %s port %d to anyone", p.Name, what, port)
			for _, from := range r.From {
				ok := slices.ContainsFunc(allowed, func(s source) bool { return s.admit(t, from) })
				require.True(t, ok, "NetworkPolicy %s opens %s port %d to %s; only %v may reach it", p.Name, what, port, describe(from), names)
			}
			opened = true
		}
	}
	require.True(t, opened, "no NetworkPolicy lets %v reach %s port %d", names, what, port)
}

func describe(p peer) string {
	var parts []string
	if p.IPBlock != nil {
		parts = append(parts, "ipBlock "+p.IPBlock.CIDR)
	}
	if p.NamespaceSelector != nil {
		parts = append(parts, fmt.Sprintf("namespaces %v", p.NamespaceSelector.MatchLabels))
	}
	if p.PodSelector != nil {
		parts = append(parts, fmt.Sprintf("pods %v", p.PodSelector.MatchLabels))
	}
	return strings.Join(parts, " / ")
}

// TestNetworkPolicyDefaultDeny: a pod no policy names accepts no connection.
func TestNetworkPolicyDefaultDeny(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		for _, p := range policies(t, objs) {
			sel := p.Spec.PodSelector
			if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 &&
				slices.Contains(p.Spec.PolicyTypes, "Ingress") && len(p.Spec.Ingress) == 0 {
				return
			}
		}
		t.Fatal("no default-deny ingress NetworkPolicy (podSelector {}, policyTypes [Ingress], no rules)")
	})
}

// TestNetworkPolicyServicePorts: the public doors only from the ingress
// controller, every other service port only from tokenmeter pods.
func TestNetworkPolicyServicePorts(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		ps := policies(t, objs)
		for _, d := range deployments(t, objs) {
			require.True(t, matches(t, selector{MatchLabels: tokenmeterLabels}, d.PodLabels), "%s pods lack %v", d.Name, tokenmeterLabels)
			for _, c := range d.Pod.Containers {
				for _, p := range c.Ports {
					switch {
					case d.Name == "ingestion" && p.ContainerPort == 7070:
						requireOnlyFrom(t, ps, d.Name, d.PodLabels, p.ContainerPort, fromIngress, fromConsole)
					case publicPorts[p.ContainerPort]:
						requireOnlyFrom(t, ps, d.Name, d.PodLabels, p.ContainerPort, fromIngress)
					case p.Name == "metrics":
						requireOnlyFrom(t, ps, d.Name, d.PodLabels, p.ContainerPort, fromMonitoring)
					default:
						requireOnlyFrom(t, ps, d.Name, d.PodLabels, p.ContainerPort, fromTokenmeter)
					}
				}
			}
		}
	})
}

// TestNetworkPolicyDataStores: NATS, ClickHouse and the collector take
// connections from tokenmeter pods (and their own peers) only; in the cluster
// layout ZooKeeper only from ClickHouse, and ClickHouse's HTTP from nobody.
func TestNetworkPolicyDataStores(t *testing.T) {
	t.Run("base", func(t *testing.T) {
		ps := policies(t, render(t, baseLayout.dir))
		natsPeers := podsOf("NATS pods", natsLabels)
		chPeers := podsOf("ClickHouse pods", clickhouseLabels)
		requireOnlyFrom(t, ps, "NATS", natsLabels, 4222, fromTokenmeter)
		requireOnlyFrom(t, ps, "NATS", natsLabels, 6222, natsPeers)
		requireOnlyFrom(t, ps, "ClickHouse", clickhouseLabels, 9000, fromTokenmeter, chPeers)
		requireOnlyFrom(t, ps, "ClickHouse", clickhouseLabels, 8123, chPeers, oneNamespace("the ClickHouse operator's namespace"))
		requireOnlyFrom(t, ps, "ClickHouse", clickhouseLabels, 9009, chPeers)
		requireOnlyFrom(t, ps, "the collector", collectorLabels, 4317, fromTokenmeter)
	})
	t.Run("cluster", func(t *testing.T) {
		objs := render(t, clusterLayout.dir)
		ps := policies(t, objs)
		nats, zk := podsNamed(t, objs, "nats"), podsNamed(t, objs, "zookeeper")
		chs := podsNamed(t, objs, "clickhouse")
		require.Len(t, chs, 2, "a StatefulSet per ClickHouse shard")
		natsPeers, zkPeers := podsOf("NATS pods", nats[0]), podsOf("ZooKeeper pods", zk[0])
		chPeers := podsOf("ClickHouse pods", map[string]string{"app.kubernetes.io/name": "clickhouse"})
		requireOnlyFrom(t, ps, "NATS", nats[0], 4222, fromTokenmeter)
		requireOnlyFrom(t, ps, "NATS", nats[0], 6222, natsPeers)
		requireClosed(t, ps, "NATS", nats[0], 8222)
		for _, ch := range chs {
			requireOnlyFrom(t, ps, "ClickHouse", ch, 9000, fromTokenmeter, chPeers)
			requireOnlyFrom(t, ps, "ClickHouse", ch, 9009, chPeers)
			requireClosed(t, ps, "ClickHouse", ch, 8123)
		}
		requireOnlyFrom(t, ps, "ZooKeeper", zk[0], 2181, chPeers)
		requireOnlyFrom(t, ps, "ZooKeeper", zk[0], 2888, zkPeers)
		requireOnlyFrom(t, ps, "ZooKeeper", zk[0], 3888, zkPeers)
		requireClosed(t, ps, "ZooKeeper", zk[0], 8080)
		requireOnlyFrom(t, ps, "the collector", collectorLabels, 4317, fromTokenmeter)
	})
}

// podsNamed are the pod labels of the workloads whose pods are app.kubernetes.io/name
// name. A data store's pods must not pass for tokenmeter pods, which reach every store.
func podsNamed(t *testing.T, objs []object, name string) []map[string]string {
	t.Helper()
	var pods []map[string]string
	for _, w := range workloads(t, objs) {
		if w.PodLabels["app.kubernetes.io/name"] == name {
			require.False(t, matches(t, selector{MatchLabels: tokenmeterLabels}, w.PodLabels),
				"%s %s: its pods carry %v, so every rule for tokenmeter pods admits them", w.Kind, w.Name, tokenmeterLabels)
			pods = append(pods, w.PodLabels)
		}
	}
	require.NotEmpty(t, pods, "no %s pods", name)
	return pods
}

// requireClosed: no rule opens port on the pods labelled so (probes come from the node).
func requireClosed(t *testing.T, ps []policy, what string, labels map[string]string, port int) {
	t.Helper()
	for _, p := range ps {
		if !slices.Contains(p.Spec.PolicyTypes, "Ingress") || !matches(t, p.Spec.PodSelector, labels) {
			continue
		}
		for _, r := range p.Spec.Ingress {
			require.False(t, covers(t, r, port), "NetworkPolicy %s opens %s port %d, which no one needs", p.Name, what, port)
		}
	}
}

// TestNetworkPoliciesSelectPods: every policy applies to pods the layout runs
// (or those the installers it assumes create), so none is left behind when
// pods are renamed or replaced.
func TestNetworkPoliciesSelectPods(t *testing.T) {
	eachLayout(t, func(t *testing.T, l layout, objs []object) {
		var pods []map[string]string
		for _, w := range workloads(t, objs) {
			pods = append(pods, w.PodLabels)
		}
		for _, labels := range l.external {
			pods = append(pods, labels)
		}
		for _, p := range policies(t, objs) {
			selects := slices.ContainsFunc(pods, func(labels map[string]string) bool { return matches(t, p.Spec.PodSelector, labels) })
			require.True(t, selects, "NetworkPolicy %s selects no pod of the %s layout", p.Name, l.name)
			for _, r := range p.Spec.Ingress {
				for _, from := range r.From {
					if from.PodSelector == nil || from.NamespaceSelector != nil {
						continue
					}
					admits := slices.ContainsFunc(pods, func(labels map[string]string) bool { return matches(t, *from.PodSelector, labels) })
					require.True(t, admits, "NetworkPolicy %s admits %s, no pod of the %s layout", p.Name, describe(from), l.name)
				}
			}
		}
	})
}

// TestPrometheusScrapesEveryService: every service serves its metrics on the
// port the shared ConfigMap names, declares it as the pod's "metrics" port
// with the scrape annotations Prometheus' kubernetes_sd relabelling reads,
// and only the monitoring namespace may reach it.
func TestPrometheusScrapesEveryService(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		listen := sharedEnv(t, objs)["TOKENMETER_METRICS_LISTEN"]
		require.NotEmpty(t, listen, "ConfigMap tokenmeter-env sets no TOKENMETER_METRICS_LISTEN")
		port, err := strconv.Atoi(strings.TrimPrefix(listen, ":"))
		require.NoError(t, err, "TOKENMETER_METRICS_LISTEN %q is not :port", listen)
		ps := policies(t, objs)
		for _, d := range deployments(t, objs) {
			declared := false
			for _, c := range d.Pod.Containers {
				for _, p := range c.Ports {
					declared = declared || (p.Name == "metrics" && p.ContainerPort == port)
				}
			}
			require.True(t, declared, "%s declares no container port metrics:%d", d.Name, port)
			require.Equal(t, "true", d.PodAnnotations["prometheus.io/scrape"], "%s pods", d.Name)
			require.Equal(t, strconv.Itoa(port), d.PodAnnotations["prometheus.io/port"], "%s pods", d.Name)
			requireOnlyFrom(t, ps, d.Name, d.PodLabels, port, fromMonitoring)
		}
	})
}

// sharedEnv is ConfigMap tokenmeter-env, which every service reads (envFrom).
func sharedEnv(t *testing.T, objs []object) map[string]string {
	t.Helper()
	for _, o := range objs {
		if o.Kind == "ConfigMap" && o.Metadata.Name == "tokenmeter-env" {
			return o.Data
		}
	}
	t.Fatal("no ConfigMap tokenmeter-env")
	return nil
}
