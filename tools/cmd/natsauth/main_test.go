package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// The admin brings every stream to today's configuration (that a service
// identity may not is libs/natsauth's TestOwnersCannotRepublishIntoOthersSubjects).
func TestProvisionAsAdmin(t *testing.T) {
	url, _ := testkit.NATS(t)
	var out bytes.Buffer
	require.NoError(t, run([]string{"-url", url, "-creds", testkit.Creds(t, url, "admin"), "provision"}, &out))
	require.Contains(t, out.String(), "provisioned")
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	for _, name := range []string{"LEDGER", "USAGE", "ALERTS"} {
		_, err := js.Stream(t.Context(), name)
		require.NoError(t, err, name)
	}
}

// A log made before partitions has LEDGER on "ledger.>", which captures the
// partition subjects too: a ledger may not add partition streams beside it
// (and says how to fix it) until the admin's provision narrows it.
func TestProvisionNarrowsTheLegacyStreamsForPartitions(t *testing.T) {
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	admin, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	_, err = admin.CreateStream(ctx, jetstream.StreamConfig{Name: "LEDGER", Subjects: []string{"ledger.>"}})
	require.NoError(t, err)
	ledger, err := jetstream.New(testkit.Connect(t, url, "ledger"))
	require.NoError(t, err)
	err = eventlog.Provision(ctx, ledger, eventlog.StreamOptions{Partitions: 3}, eventlog.LedgerStreams(3)...)
	require.ErrorContains(t, err, "natsauth provision")

	var out bytes.Buffer
	require.NoError(t, run([]string{"-url", url, "-creds", testkit.Creds(t, url, "admin"), "-partitions", "2", "provision"}, &out))
	require.Contains(t, out.String(), "2 partition streams")
	legacy, err := admin.Stream(ctx, "LEDGER")
	require.NoError(t, err)
	require.Equal(t, []string{"ledger.*.*"}, legacy.CachedInfo().Config.Subjects)
	require.NoError(t, eventlog.Provision(ctx, ledger, eventlog.StreamOptions{Partitions: 3}, eventlog.LedgerStreams(3)...), "the ledger adds LEDGER-2")
	for _, name := range []string{"LEDGER-0", "LEDGER-1", "LEDGER-2", "USAGE-0", "USAGE-1"} {
		_, err := admin.Stream(ctx, name)
		require.NoError(t, err, name)
	}
}

// -usage-max-age sets the telemetry retention; one under a week is refused
// before anything is touched.
func TestProvisionUsageMaxAge(t *testing.T) {
	url, _ := testkit.NATS(t)
	creds := testkit.Creds(t, url, "admin")
	var out bytes.Buffer
	err := run([]string{"-url", url, "-creds", creds, "-usage-max-age", "48h", "provision"}, &out)
	require.ErrorContains(t, err, "at least 168h")
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	_, err = js.Stream(t.Context(), "USAGE")
	require.ErrorIs(t, err, jetstream.ErrStreamNotFound, "a refused provision touches nothing")

	require.NoError(t, run([]string{"-url", url, "-creds", creds, "-usage-max-age", "9600h", "provision"}, &out))
	s, err := js.Stream(t.Context(), "USAGE")
	require.NoError(t, err)
	require.Equal(t, 9600*time.Hour, s.CachedInfo().Config.MaxAge)
	require.Contains(t, out.String(), "USAGE keeps telemetry for 9600h0m0s\n")

	out.Reset()
	require.NoError(t, run([]string{"-url", url, "-creds", creds, "-partitions", "2", "provision"}, &out))
	require.Contains(t, out.String(), "USAGE-1 keeps telemetry for 9600h0m0s\n", "new partition streams take USAGE's")
}
