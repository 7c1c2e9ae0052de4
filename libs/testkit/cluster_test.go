package testkit

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// A three-node cluster takes a stream replicated on all three.
func TestNATSCluster(t *testing.T) {
	urls := NATSCluster(t, 3)
	nc := Connect(t, urls, "admin")
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	s, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	require.NoError(t, err)
	require.Len(t, s.CachedInfo().Cluster.Replicas, 2, "a leader and two replicas")
	ack, err := js.Publish(t.Context(), "r3.x", []byte("x"))
	require.NoError(t, err)
	require.EqualValues(t, 1, ack.Sequence)
}
