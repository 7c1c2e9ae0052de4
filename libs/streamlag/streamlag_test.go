package streamlag_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/streamlag"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

func stream(t *testing.T) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	s, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "LAG", Subjects: []string{"lag.>"}})
	require.NoError(t, err)
	return js, s
}

// publish appends n messages and returns the time the stream stored each.
func publish(t *testing.T, js jetstream.JetStream, s jetstream.Stream, n int) []time.Time {
	t.Helper()
	var out []time.Time
	for range n {
		ack, err := js.Publish(t.Context(), "lag.x", []byte("x"))
		require.NoError(t, err)
		msg, err := s.GetMsg(t.Context(), ack.Sequence)
		require.NoError(t, err)
		out = append(out, msg.Time)
	}
	return out
}

func TestLagInEventsAndAge(t *testing.T) {
	t.Parallel()
	js, s := stream(t)
	times := publish(t, js, s, 5)
	now := times[4].Add(time.Minute)
	lag := streamlag.New(js, "LAG", time.Hour, func() time.Time { return now })
	var pos atomic.Uint64
	r := lag.Reader(pos.Load)

	events, delay := r.Lag()
	require.Zero(t, events, "nothing known before a refresh or a message")
	require.Zero(t, delay)

	require.NoError(t, lag.Refresh(t.Context()))
	events, delay = r.Lag()
	require.Equal(t, uint64(5), events)
	require.Equal(t, now.Sub(times[0]), delay, "the age of the first event not processed")

	// The reader moves to 2; message 3 is gone: the next stored is 4.
	pos.Store(2)
	require.NoError(t, s.DeleteMsg(t.Context(), 3))
	require.NoError(t, lag.Refresh(t.Context()))
	events, delay = r.Lag()
	require.Equal(t, uint64(3), events)
	require.Equal(t, now.Sub(times[3]), delay)

	// Caught up: nothing waits, however old the last refresh.
	pos.Store(5)
	events, delay = r.Lag()
	require.Zero(t, events)
	require.Zero(t, delay)

	// Messages a reader saw raise the last sequence before any refresh;
	// the reader was caught up at the latest one, so they count as fresh.
	require.NoError(t, lag.Refresh(t.Context()))
	times = append(times, publish(t, js, s, 2)...)
	lag.Saw(&jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: 6}, NumPending: 1})
	require.Equal(t, uint64(7), lag.Last())
	events, delay = r.Lag()
	require.Equal(t, uint64(2), events)
	require.Zero(t, delay)
	require.NoError(t, lag.Refresh(t.Context()))
	_, delay = r.Lag()
	require.Equal(t, now.Sub(times[5]), delay)
}
