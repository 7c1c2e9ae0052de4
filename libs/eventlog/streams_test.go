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

// With partitions, the legacy LEDGER and USAGE capture the two-token
// subjects and each partition stream its own partition's: no subject is
// captured twice, and LEDGER-<p> refuses to discard money as LEDGER does.
func TestPartitionStreamConfigs(t *testing.T) {
	t.Parallel()
	byName := map[string]jetstream.StreamConfig{}
	for _, c := range StreamConfigs(StreamOptions{Partitions: 3}) {
		byName[c.Name] = c
	}
	require.Len(t, byName, 3+2*3)
	require.Equal(t, []string{"ledger.*.*"}, byName["LEDGER"].Subjects)
	require.Equal(t, []string{"ledger.2.*.*"}, byName["LEDGER-2"].Subjects)
	require.Equal(t, []string{"usage.0.*.*"}, byName["USAGE-0"].Subjects)
	require.Equal(t, jetstream.DiscardNew, byName["LEDGER-1"].Discard)
	require.True(t, byName["LEDGER-1"].AllowAtomicPublish)
	require.Len(t, StreamConfigs(StreamOptions{Partitions: 1}), 3, "one partition is the one-stream layout")
	require.Len(t, LedgerStreams(99), 1+32, "at most 32 partitions")
}
