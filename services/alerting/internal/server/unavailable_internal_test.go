package server

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A log or bucket that cannot be reached is Unavailable with a retry hint,
// as alerting.proto lists it; a caller that left gets its own code.
func TestUnavailableCarriesRetryInfo(t *testing.T) {
	t.Parallel()
	st := status.Convert(unavailable(t.Context(), "list rules", errors.New("nats: timeout")))
	require.Equal(t, codes.Unavailable, st.Code())
	hinted := false
	for _, d := range st.Details() {
		_, hinted = d.(*errdetails.RetryInfo)
	}
	require.True(t, hinted, "%v", st)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.Equal(t, codes.Canceled, status.Code(unavailable(ctx, "list rules", errors.New("nats: timeout"))))
}
