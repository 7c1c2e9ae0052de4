package config

import (
	"flag"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// Every service takes -shutdown-timeout from the common flags; a config built
// in code (zero) stops within the default, a negative one is refused.
func TestShutdownTimeoutIsCommon(t *testing.T) {
	var c Common
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	c.Register(fs, "127.0.0.1:0")
	require.NoError(t, Parse(fs, []string{"-shutdown-timeout", "3s"}))
	require.Equal(t, 3*time.Second, c.StopWithin())
	require.Equal(t, DefaultShutdownTimeout, (&Common{}).StopWithin())
	c.ShutdownTimeout = -time.Second
	require.ErrorContains(t, c.Validate(), "-shutdown-timeout")
}

// A drain delivers what was published before it and ends within its bound
// even when NATS is gone.
func TestDrainNATSIsBounded(t *testing.T) {
	url, srv := testkit.NATS(t)
	sub := testkit.Connect(t, url, natsauth.Admin)
	got, err := sub.SubscribeSync("drain.test")
	require.NoError(t, err)
	require.NoError(t, sub.Flush())
	pub := testkit.Connect(t, url, natsauth.Admin)
	require.NoError(t, pub.Publish("drain.test", []byte("last")))
	require.NoError(t, DrainNATS(pub, time.Second))
	require.True(t, pub.IsClosed())
	msg, err := got.NextMsg(time.Second)
	require.NoError(t, err)
	require.Equal(t, "last", string(msg.Data))

	gone := testkit.Connect(t, url, natsauth.Admin, nats.MaxReconnects(-1))
	restart := testkit.StopNATS(t, srv)
	defer restart()
	began := time.Now()
	_ = DrainNATS(gone, 300*time.Millisecond)
	require.Less(t, time.Since(began), 2*time.Second)
	require.True(t, gone.IsClosed())
}
