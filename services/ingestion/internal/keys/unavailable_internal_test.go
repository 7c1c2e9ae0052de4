package keys

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A key store that cannot be reached is Unavailable with a retry hint, as
// ingestion.proto lists it.
func TestKeyStoreFailureIsRetryable(t *testing.T) {
	t.Parallel()
	st := status.Convert(unavailable(errors.New("nats: timeout")))
	require.Equal(t, codes.Unavailable, st.Code())
	hinted := false
	for _, d := range st.Details() {
		_, hinted = d.(*errdetails.RetryInfo)
	}
	require.True(t, hinted, "%v", st)
}
