package eventlog

import (
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// TypeOf names every payload by its oneof field, whether or not the payload
// message is set, and "unknown" for none; the cache by Go type keeps that.
func TestTypeOf(t *testing.T) {
	for range 2 { // the second round answers from the cache
		require.Equal(t, "unknown", TypeOf(&v1.Event{}))
		require.Equal(t, "window_charged", TypeOf(&v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{}}}))
		require.Equal(t, "launch_denied", TypeOf(&v1.Event{Payload: &v1.Event_LaunchDenied{}}))
		require.Equal(t, "pack_added", TypeOf(&v1.Event{Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{}}}))
	}
	// A nil payload of a real type names nothing, and is not cached as its
	// type's name.
	require.Equal(t, "unknown", TypeOf(&v1.Event{Payload: (*v1.Event_PackExpired)(nil)}))
	require.Equal(t, "pack_expired", TypeOf(&v1.Event{Payload: &v1.Event_PackExpired{PackExpired: &v1.PackExpired{}}}))
}
