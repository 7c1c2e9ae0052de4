package deploycheck

import (
	"bytes"
	"encoding/json"
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
