package deploycheck

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// apiTypes are the Kubernetes types the layouts use.
var apiTypes = map[string]func() any{
	"Namespace":           func() any { return &corev1.Namespace{} },
	"ConfigMap":           func() any { return &corev1.ConfigMap{} },
	"Service":             func() any { return &corev1.Service{} },
	"Deployment":          func() any { return &appsv1.Deployment{} },
	"StatefulSet":         func() any { return &appsv1.StatefulSet{} },
	"NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
}

// TestManifestsMatchTheKubernetesAPI: every object decodes strictly into its
// Kubernetes API type, so a misspelt or misplaced field fails here rather
// than at `kubectl apply` (or, worse, is dropped by a lenient client).
func TestManifestsMatchTheKubernetesAPI(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			for _, r := range build(t, l.dir).Resources() {
				newObj, ok := apiTypes[r.GetKind()]
				require.True(t, ok, "%s %s: deploycheck knows no API type %s", r.GetKind(), r.GetName(), r.GetKind())
				raw, err := r.MarshalJSON()
				require.NoError(t, err)
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.DisallowUnknownFields()
				require.NoError(t, dec.Decode(newObj()), "%s %s", r.GetKind(), r.GetName())
			}
		})
	}
}

// TestPodsMeetRestrictedPodSecurity: the namespace enforces Pod Security
// "restricted" (base/namespace.yaml), which refuses any pod that runs as root,
// may escalate, keeps capabilities or mounts host paths: the StatefulSet or
// Deployment then stays at zero pods. Every container is probed (so a stuck
// one is restarted and a starting one gets no traffic) and states its
// requests and a memory limit.
func TestPodsMeetRestrictedPodSecurity(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			for _, r := range build(t, l.dir).Resources() {
				var pod corev1.PodTemplateSpec
				switch r.GetKind() {
				case "Deployment", "StatefulSet":
					raw, err := r.MarshalJSON()
					require.NoError(t, err)
					var w struct {
						Spec struct {
							Template corev1.PodTemplateSpec `json:"template"`
						} `json:"spec"`
					}
					require.NoError(t, json.Unmarshal(raw, &w))
					pod = w.Spec.Template
				default:
					continue
				}
				requireRestricted(t, r.GetKind()+" "+r.GetName(), pod.Spec)
				requireProbedAndBounded(t, r.GetKind()+" "+r.GetName(), pod.Spec)
			}
		})
	}
}

func requireRestricted(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	require.NotNil(t, psc, what)
	require.True(t, psc.RunAsNonRoot != nil && *psc.RunAsNonRoot, "%s: runAsNonRoot", what)
	require.True(t, psc.RunAsUser == nil || *psc.RunAsUser != 0, "%s: runAsUser 0", what)
	require.True(t, psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "%s: seccompProfile RuntimeDefault", what)
	require.False(t, spec.HostNetwork || spec.HostPID || spec.HostIPC, "%s: host namespaces", what)
	for _, v := range spec.Volumes {
		ok := v.ConfigMap != nil || v.Secret != nil || v.EmptyDir != nil || v.PersistentVolumeClaim != nil ||
			v.Projected != nil || v.DownwardAPI != nil
		require.True(t, ok, "%s: volume %s is of a kind restricted refuses", what, v.Name)
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		sc := c.SecurityContext
		require.NotNil(t, sc, "%s/%s", what, c.Name)
		require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "%s/%s: allowPrivilegeEscalation false", what, c.Name)
		require.True(t, sc.Privileged == nil || !*sc.Privileged, "%s/%s: privileged", what, c.Name)
		require.True(t, sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL"), "%s/%s: drop ALL capabilities", what, c.Name)
		for _, add := range sc.Capabilities.Add {
			require.Equal(t, corev1.Capability("NET_BIND_SERVICE"), add, "%s/%s: adds a capability", what, c.Name)
		}
		require.True(t, sc.RunAsUser == nil || *sc.RunAsUser != 0, "%s/%s: runAsUser 0", what, c.Name)
	}
}

func requireProbedAndBounded(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	for _, c := range spec.Containers {
		require.NotNil(t, c.ReadinessProbe, "%s/%s: readinessProbe", what, c.Name)
		require.NotNil(t, c.LivenessProbe, "%s/%s: livenessProbe", what, c.Name)
		require.False(t, c.Resources.Requests.Cpu().IsZero(), "%s/%s: cpu request", what, c.Name)
		require.False(t, c.Resources.Requests.Memory().IsZero(), "%s/%s: memory request", what, c.Name)
		require.False(t, c.Resources.Limits.Memory().IsZero(), "%s/%s: memory limit", what, c.Name)
	}
}
