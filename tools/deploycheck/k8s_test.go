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
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const k8sDir = "deploy/k8s"

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

type deploymentSpec struct {
	Template struct {
		Metadata meta    `yaml:"metadata"`
		Spec     podSpec `yaml:"spec"`
	} `yaml:"template"`
}

type podSpec struct {
	Containers     []container `yaml:"containers"`
	InitContainers []container `yaml:"initContainers"`
	Volumes        []struct {
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
		Projected *struct {
			Sources []struct {
				Secret *struct {
					Name string `yaml:"name"`
				} `yaml:"secret"`
			} `yaml:"sources"`
		} `yaml:"projected"`
	} `yaml:"volumes"`
}

type container struct {
	Name  string `yaml:"name"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
}

// deployment is a rendered Deployment with its pod template decoded.
type deployment struct {
	Name           string
	PodLabels      map[string]string
	PodAnnotations map[string]string
	Pod            podSpec
}

// render builds deploy/k8s the way `kubectl apply -k` does and returns its objects.
func render(t *testing.T) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, k8sDir))
	require.NoError(t, err, "kustomize build %s", k8sDir)
	out, err := m.AsYaml()
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

func deployments(t *testing.T, objs []object) []deployment {
	t.Helper()
	var ds []deployment
	for _, o := range objs {
		if o.Kind != "Deployment" {
			continue
		}
		var spec deploymentSpec
		require.NoError(t, o.Spec.Decode(&spec), o.Metadata.Name)
		ds = append(ds, deployment{Name: o.Metadata.Name, PodLabels: spec.Template.Metadata.Labels,
			PodAnnotations: spec.Template.Metadata.Annotations, Pod: spec.Template.Spec})
	}
	require.Len(t, ds, 4, "one Deployment per service")
	return ds
}

// TestKustomizeAppliesNoSecret: the Secrets are created out of band; applying
// the example would run production on the published change-me keys.
func TestKustomizeAppliesNoSecret(t *testing.T) {
	for _, o := range render(t) {
		require.NotEqual(t, "Secret", o.Kind, "kustomize applies Secret %s", o.Metadata.Name)
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, k8sDir, "kustomization.yaml"))
	require.NoError(t, err)
	var k struct {
		Resources []string `yaml:"resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &k))
	require.NotContains(t, k.Resources, "secret.example.yaml")
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

// TestDeploymentsReadOnlyTheirOwnSecrets: each service holds only its own keys
// (tokenmeter-<service>-...), so one compromised pod does not hold them all.
func TestDeploymentsReadOnlyTheirOwnSecrets(t *testing.T) {
	for _, d := range deployments(t, render(t)) {
		refs := secretRefs(d.Pod)
		require.NotEmpty(t, refs, "%s reads no Secret: where do its API keys come from?", d.Name)
		for _, name := range refs {
			require.True(t, strings.HasPrefix(name, "tokenmeter-"+d.Name+"-"),
				"Deployment %s reads Secret %s, which is not its own (tokenmeter-%s-...)", d.Name, name, d.Name)
		}
		var keyring bool
		for _, e := range d.Pod.Containers[0].Env {
			keyring = keyring || (e.Name == "TOKENMETER_API_KEYS_FILE" && strings.HasPrefix(e.Value, "/etc/tokenmeter/keys/"))
		}
		require.True(t, keyring, "%s: TOKENMETER_API_KEYS_FILE, the keyring mounted from its own Secret (reloaded when it changes)", d.Name)
	}
}

// TestDeploymentsConnectToNATSAsThemselves: each service dials NATS with the
// nkey seed of its own identity, from its own Secret.
func TestDeploymentsConnectToNATSAsThemselves(t *testing.T) {
	for _, d := range deployments(t, render(t)) {
		var creds string
		for _, e := range d.Pod.Containers[0].Env {
			if e.Name == "TOKENMETER_NATS_CREDS" {
				creds = e.Value
			}
		}
		require.NotEmpty(t, creds, "%s: TOKENMETER_NATS_CREDS names no seed file", d.Name)
		require.Contains(t, secretRefs(d.Pod), "tokenmeter-"+d.Name+"-nats", "%s: its NATS seed Secret", d.Name)
	}
}
