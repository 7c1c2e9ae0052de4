package deploycheck

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// layout is one way deploy/k8s deploys the system, as kustomize renders it.
type layout struct {
	name string
	dir  string
	// external are the pods of the layout that other installers create
	// (Helm charts, operators), labelled as they label them.
	external map[string]map[string]string
}

var (
	// baseLayout: the services; NATS, ClickHouse and the collector from their own tooling.
	baseLayout = layout{"base", "deploy/k8s", map[string]map[string]string{
		"nats": natsLabels, "clickhouse": clickhouseLabels, "collector": collectorLabels}}
	// clusterLayout: the services plus the NATS, ZooKeeper and ClickHouse clusters.
	clusterLayout = layout{"cluster", "deploy/k8s/overlays/cluster", map[string]map[string]string{
		"collector": collectorLabels}}
	layouts = []layout{baseLayout, clusterLayout}
)

// eachLayout runs check as a subtest on each layout's rendered objects.
func eachLayout(t *testing.T, check func(t *testing.T, l layout, objs []object)) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { check(t, l, render(t, l.dir)) })
	}
}

type meta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type object struct {
	Kind     string            `yaml:"kind"`
	Metadata meta              `yaml:"metadata"`
	Spec     yaml.Node         `yaml:"spec"`
	Data     map[string]string `yaml:"data"`
}

type workloadSpec struct {
	Replicas    *int     `yaml:"replicas"`
	ServiceName string   `yaml:"serviceName"`
	Selector    selector `yaml:"selector"`
	Template    struct {
		Metadata meta    `yaml:"metadata"`
		Spec     podSpec `yaml:"spec"`
	} `yaml:"template"`
	VolumeClaimTemplates []struct {
		Metadata meta `yaml:"metadata"`
	} `yaml:"volumeClaimTemplates"`
}

type podSpec struct {
	Containers     []container `yaml:"containers"`
	InitContainers []container `yaml:"initContainers"`
	Affinity       *struct {
		PodAntiAffinity *struct {
			Required []struct {
				TopologyKey   string   `yaml:"topologyKey"`
				LabelSelector selector `yaml:"labelSelector"`
			} `yaml:"requiredDuringSchedulingIgnoredDuringExecution"`
		} `yaml:"podAntiAffinity"`
	} `yaml:"affinity"`
	Volumes []struct {
		Name   string `yaml:"name"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Projected *struct {
			Sources []struct {
				Secret *struct {
					Name string `yaml:"name"`
				} `yaml:"secret"`
			} `yaml:"sources"`
		} `yaml:"projected"`
	} `yaml:"volumes"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
	} `yaml:"valueFrom"`
}

type container struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env     []envVar `yaml:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// env is the value of the container's variable name, and whether it sets it.
func (c container) env(name string) (envVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return envVar{}, false
}

// workload is a rendered Deployment or StatefulSet with its pod template decoded.
type workload struct {
	Kind           string
	Name           string
	Replicas       int
	ServiceName    string
	Selector       selector
	PodLabels      map[string]string
	PodAnnotations map[string]string
	Pod            podSpec
	// Claims are the names of a StatefulSet's volume claim templates.
	Claims []string
}

// build builds dir the way `kubectl apply -k` does.
func build(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, dir))
	require.NoError(t, err, "kustomize build %s", dir)
	return m
}

// render builds dir and returns its objects.
func render(t *testing.T, dir string) []object {
	t.Helper()
	out, err := build(t, dir).AsYaml()
	require.NoError(t, err)
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o object
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		objs = append(objs, o)
	}
	require.NotEmpty(t, objs)
	return objs
}

func workloads(t *testing.T, objs []object) []workload {
	t.Helper()
	var ws []workload
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			continue
		}
		var spec workloadSpec
		require.NoError(t, o.Spec.Decode(&spec), o.Metadata.Name)
		w := workload{Kind: o.Kind, Name: o.Metadata.Name, Replicas: 1, ServiceName: spec.ServiceName, Selector: spec.Selector,
			PodLabels: spec.Template.Metadata.Labels, PodAnnotations: spec.Template.Metadata.Annotations, Pod: spec.Template.Spec}
		if spec.Replicas != nil {
			w.Replicas = *spec.Replicas
		}
		for _, c := range spec.VolumeClaimTemplates {
			w.Claims = append(w.Claims, c.Metadata.Name)
		}
		require.True(t, matches(t, w.Selector, w.PodLabels), "%s %s: its selector does not select its own pods", w.Kind, w.Name)
		ws = append(ws, w)
	}
	return ws
}

// deployments are the four services' Deployments.
func deployments(t *testing.T, objs []object) []workload {
	t.Helper()
	var ds []workload
	for _, w := range workloads(t, objs) {
		if w.Kind == "Deployment" {
			ds = append(ds, w)
		}
	}
	require.Len(t, ds, 4, "one Deployment per service")
	return ds
}

// TestKustomizeAppliesNoSecret: the Secrets are created out of band; applying
// the example would run production on the published change-me keys.
func TestKustomizeAppliesNoSecret(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		for _, o := range objs {
			require.NotEqual(t, "Secret", o.Kind, "kustomize applies Secret %s", o.Metadata.Name)
		}
	})
	for _, dir := range []string{"deploy/k8s", "deploy/k8s/base", "deploy/k8s/overlays/cluster"} {
		raw, err := os.ReadFile(filepath.Join(repoRoot, dir, "kustomization.yaml"))
		require.NoError(t, err)
		var k struct {
			Resources []string `yaml:"resources"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &k))
		require.NotContains(t, k.Resources, "secret.example.yaml", dir)
	}
}

// secretRefs lists every Secret a pod reads: env, envFrom and volumes.
func secretRefs(p podSpec) []string {
	var names []string
	for _, c := range append(append([]container(nil), p.Containers...), p.InitContainers...) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				names = append(names, e.ValueFrom.SecretKeyRef.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				names = append(names, e.SecretRef.Name)
			}
		}
	}
	for _, v := range p.Volumes {
		if v.Secret != nil {
			names = append(names, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					names = append(names, s.Secret.Name)
				}
			}
		}
	}
	return names
}

// TestWorkloadsReadOnlyTheirOwnSecrets: each service (and each data store the
// cluster layout runs) holds only its own keys (tokenmeter-<name>-...), so one
// compromised pod does not hold them all.
func TestWorkloadsReadOnlyTheirOwnSecrets(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		for _, w := range workloads(t, objs) {
			name := w.PodLabels["app.kubernetes.io/name"]
			require.NotEmpty(t, name, "%s %s: pods without app.kubernetes.io/name", w.Kind, w.Name)
			for _, ref := range secretRefs(w.Pod) {
				require.True(t, strings.HasPrefix(ref, "tokenmeter-"+name+"-"),
					"%s %s reads Secret %s, which is not its own (tokenmeter-%s-...)", w.Kind, w.Name, ref, name)
			}
		}
		for _, d := range deployments(t, objs) {
			require.NotEmpty(t, secretRefs(d.Pod), "%s reads no Secret: where do its API keys come from?", d.Name)
			e, _ := d.Pod.Containers[0].env("TOKENMETER_API_KEYS_FILE")
			require.True(t, strings.HasPrefix(e.Value, "/etc/tokenmeter/keys/"),
				"%s: TOKENMETER_API_KEYS_FILE, the keyring mounted from its own Secret (reloaded when it changes)", d.Name)
		}
	})
}

// TestDeploymentsConnectToNATSAsThemselves: each service dials NATS with the
// nkey seed of its own identity, from its own Secret.
func TestDeploymentsConnectToNATSAsThemselves(t *testing.T) {
	eachLayout(t, func(t *testing.T, _ layout, objs []object) {
		for _, d := range deployments(t, objs) {
			creds, _ := d.Pod.Containers[0].env("TOKENMETER_NATS_CREDS")
			require.NotEmpty(t, creds.Value, "%s: TOKENMETER_NATS_CREDS names no seed file", d.Name)
			require.Contains(t, secretRefs(d.Pod), "tokenmeter-"+d.Name+"-nats", "%s: its NATS seed Secret", d.Name)
		}
	})
}
