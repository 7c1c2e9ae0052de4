package testkit_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

func TestNATSJetStreamRoundTrip(t *testing.T) {
	t.Parallel()
	url, srv := testkit.NATS(t)
	require.True(t, srv.JetStreamEnabled())

	nc := testkit.Connect(t, url, "admin")
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()

	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "ROUNDTRIP", Subjects: []string{"roundtrip.>"}})
	require.NoError(t, err)
	for _, id := range []string{"e1", "e2", "e1"} { // the second e1 is deduplicated
		_, err := js.Publish(ctx, "roundtrip.a", []byte("payload-"+id), jetstream.WithMsgID(id))
		require.NoError(t, err)
	}

	cons, err := js.CreateOrUpdateConsumer(ctx, "ROUNDTRIP", jetstream.ConsumerConfig{
		Durable:   "reader",
		AckPolicy: jetstream.AckExplicitPolicy,
	})
	require.NoError(t, err)
	info, err := cons.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, info.NumPending, "the duplicate e1 should not be stored")
	batch, err := cons.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	var got []string
	for msg := range batch.Messages() {
		got = append(got, string(msg.Data()))
		require.NoError(t, msg.Ack())
	}
	require.NoError(t, batch.Error())
	require.Equal(t, []string{"payload-e1", "payload-e2"}, got)
}

func TestRestartNATSKeepsStreamAndURL(t *testing.T) {
	t.Parallel()
	url, srv := testkit.NATS(t)

	nc := testkit.Connect(t, url, "admin", nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()

	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "DURABLE", Subjects: []string{"durable.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	_, err = js.Publish(ctx, "durable.a", []byte("before"))
	require.NoError(t, err)

	url2, _ := testkit.RestartNATS(t, srv)
	require.Equal(t, url, url2)

	require.Eventually(t, func() bool {
		info, err := js.Stream(ctx, "DURABLE")
		return err == nil && info.CachedInfo().State.Msgs == 1
	}, 10*time.Second, 50*time.Millisecond)
	_, err = js.Publish(ctx, "durable.a", []byte("after"))
	require.NoError(t, err)
	stream, err := js.Stream(ctx, "DURABLE")
	require.NoError(t, err)
	require.EqualValues(t, 2, stream.CachedInfo().State.Msgs)
}

// The server knows only natsauth's users: an anonymous client, or one with a
// seed of its own, is refused.
func TestNATSRefusesAnonymousAndUnknownUsers(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	_, err := nats.Connect(url)
	require.ErrorIs(t, err, nats.ErrAuthorization)

	other, _ := testkit.NATS(t) // same identities, other keys
	_, err = nats.Connect(url, mustOptions(t, testkit.Client(t, other, "admin"))...)
	require.ErrorIs(t, err, nats.ErrAuthorization)
}

func mustOptions(t *testing.T, c natsauth.Client) []nats.Option {
	t.Helper()
	opts, err := c.Options()
	require.NoError(t, err)
	return opts
}

// NATSWith's SyncAlways reaches JetStream, and NATS keeps the default.
func TestNATSWithSyncAlways(t *testing.T) {
	t.Parallel()
	_, srv := testkit.NATSWith(t, testkit.NATSConfig{SyncAlways: true})
	require.True(t, srv.JetStreamConfig().SyncAlways)
	_, plain := testkit.NATS(t)
	require.False(t, plain.JetStreamConfig().SyncAlways)
	require.Equal(t, 2*time.Minute, plain.JetStreamConfig().SyncInterval, "JetStream's default sync interval")
}
