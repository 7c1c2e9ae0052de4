package eventlog

import (
	"testing"
	"time"

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

// The admin's provisioning sets the telemetry retention it is given; given
// none, it keeps the one an operator set on USAGE by hand (it used to reset
// it to forever) and gives it to partition streams made later; it keeps an
// operator's size limit on USAGE; LEDGER and ALERTS get no limit.
func TestProvisionKeepsOperatorUsageLimits(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	ctx := t.Context()
	config := func(name string) jetstream.StreamConfig {
		s, err := js.Stream(ctx, name)
		require.NoError(t, err)
		return s.CachedInfo().Config
	}
	edit := func(name string, change func(*jetstream.StreamConfig)) {
		c := config(name)
		change(&c)
		_, err := js.UpdateStream(ctx, c)
		require.NoError(t, err)
	}
	o := StreamOptions{Update: true, Partitions: 2}
	require.NoError(t, Provision(ctx, js, o))
	require.Zero(t, config("USAGE-1").MaxAge, "made to keep everything")

	o.UsageMaxAge = 400 * 24 * time.Hour
	require.NoError(t, Provision(ctx, js, o))
	for _, name := range UsageStreams(2) {
		require.Equal(t, o.UsageMaxAge, config(name).MaxAge, name)
	}
	require.Zero(t, config("LEDGER-0").MaxAge, "money never ages out")

	month := 30 * 24 * time.Hour
	edit("USAGE", func(c *jetstream.StreamConfig) { c.MaxAge = month })
	edit("USAGE-0", func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 30 })
	edit("ALERTS", func(c *jetstream.StreamConfig) { c.MaxAge = 90 * 24 * time.Hour })
	edit("LEDGER-1", func(c *jetstream.StreamConfig) { c.MaxBytes = 1 << 30; c.MaxAge = time.Hour })
	o = StreamOptions{Update: true, Partitions: 3}
	require.NoError(t, Provision(ctx, js, o))
	require.Equal(t, month, config("USAGE").MaxAge, "an operator's retention stays")
	require.Equal(t, month, config("USAGE-2").MaxAge, "and a new partition stream takes it")
	require.Equal(t, int64(1<<30), config("USAGE-0").MaxBytes, "an operator's size limit on USAGE stays")
	require.Zero(t, config("ALERTS").MaxAge, "an alert aged out would be raised again")
	require.Equal(t, int64(-1), config("LEDGER-1").MaxBytes, "no limit on money")
	require.Zero(t, config("LEDGER-1").MaxAge)

	err = Provision(ctx, js, StreamOptions{Update: true, UsageMaxAge: 24 * time.Hour})
	require.ErrorContains(t, err, "at least 168h0m0s")
	require.Equal(t, month, config("USAGE").MaxAge, "nothing changed by a refused call")
}
