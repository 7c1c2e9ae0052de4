package eventlog

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// On a cluster, a service provisioning the streams without the replica count
// (alerting and reporting take none) leaves them replicated; one asking for
// more raises them.
func TestProvisionNeverLowersReplicas(t *testing.T) {
	urls := testkit.NATSCluster(t, 3)
	// Provisioning every stream and appending anywhere: the admin's job.
	nc := testkit.Connect(t, urls, "admin")
	js, err := jetstream.New(nc)
	require.NoError(t, err)

	replicas := func() map[string]int {
		out := map[string]int{}
		for _, name := range []string{LedgerStream, UsageStream, AlertsStream} {
			s, err := js.Stream(t.Context(), name)
			require.NoError(t, err)
			out[name] = s.CachedInfo().Config.Replicas
		}
		return out
	}
	require.NoError(t, Provision(t.Context(), js, StreamOptions{Update: true}))
	require.Equal(t, map[string]int{LedgerStream: 1, UsageStream: 1, AlertsStream: 1}, replicas(), "a fresh cluster, asked for one copy")
	require.NoError(t, Provision(t.Context(), js, StreamOptions{Replicas: 3, Update: true}))
	require.Equal(t, map[string]int{LedgerStream: 3, UsageStream: 3, AlertsStream: 3}, replicas(), "raised")
	require.NoError(t, Provision(t.Context(), js, StreamOptions{Update: true}))
	require.Equal(t, map[string]int{LedgerStream: 3, UsageStream: 3, AlertsStream: 3}, replicas(), "not lowered")
}
